import {
  type AppendManyOptions,
  type AppendOptions,
  appendManyOptions,
  type BatchAppend,
  type CreateRunOptions,
  type CreateRunResult,
  type Duration,
  type EventRecord,
  type FollowOptions,
  followSignal,
  invalidArgument,
  LeanflowError,
  type LimitStore,
  markRepeatedAppend,
  maxEventsFor,
  type NewEvent,
  NonRetriableError,
  optionsObject,
  parseDuration,
  positiveInteger,
  type RunStateStore,
  requiredIdempotencyKey,
  runStateJson,
  type ScheduleStore,
  STORE_DEFAULTS,
  type StreamStore,
  storeOptions,
  type ValidatedAppend,
  validateAppend,
  validateBatch,
} from '@leanflow/core'
import { type Cluster, Redis } from 'ioredis'
import { clientTimeout, isCluster } from './internal/connections.js'
import { buildRecord, type CorruptEntryInfo, decodeEntry } from './internal/decode.js'
import { eventExtra, stepClass } from './internal/eventArgs.js'
import { checkEvictionPolicy } from './internal/evictionPolicy.js'
import { followRun } from './internal/follow.js'
import { createLivePubSub, defineLiveScript } from './internal/livePubSub.js'
import { readEvents } from './internal/readEvents.js'
import { noIdError, noIdLeft, tooLong } from './internal/refusals.js'
import { RunIndex } from './internal/runIndex.js'
import type { RedisClient } from './internal/script.js'
import { closedError, redacted, refuseMissingDatabase, watchEndpoint, withStoreErrors } from './internal/storeErrors.js'
import { checkStoreOptions } from './internal/storeOptionChecks.js'
import { checkedFollow, streamId } from './internal/streamIds.js'
import { assertUrlDatabase, clientDatabase } from './internal/urlDatabase.js'
import { createKeys, INDEXED_STATUSES, type IndexedStatus, type Keys } from './keys.js'
import { APPEND_LUA, APPEND_MANY_LUA, CREATE_RUN_LUA } from './lua/append.js'
import { createRedisLimits } from './redisLimits.js'
import { redisRunStateStore } from './redisRunStateStore.js'
import { createRedisSchedules } from './redisSchedules.js'

/**
 * Options of {@link createRedisStreamStore}. Give `url` or `redis`.
 *
 * @example
 * ```ts
 * const options: RedisStreamStoreOptions = { url: 'redis://127.0.0.1:6379', prefix: 'shop', retention: '3d', onCorrupt: (i) => log.warn(i) }
 * ```
 */
export interface RedisStreamStoreOptions {
  /** Redis URL; the store opens (and on `close()` quits) its own connections. */
  url?: string | undefined
  /** A connection or `new Cluster(nodes)` of yours; `close()` leaves it open. */
  redis?: Redis | Cluster | undefined
  /** Prefix of every key. @default 'lf' */
  prefix?: string | undefined
  /** How long a finished run's keys live (ms or `'7d'`, `'24h'`…). @default '7d' */
  retention?: Duration | undefined
  /** Largest serialized event, in UTF-8 bytes. @default 1048576 (1 MiB) */
  maxEventBytes?: number | undefined
  /** Most events in one run (`RUN_TOO_LONG` past it). @default 100000 */
  maxEventsPerRun?: number | undefined
  /** Every appended record is published on this bus (for custom transports). */
  bus?: { publish(event: EventRecord): unknown } | undefined
  /**
   * Called for each malformed entry a read or follow skips, and each one of an external-event
   * stream an event match skips (`runId` `''`, `eventKind` its kind). Must not throw.
   */
  onCorrupt?: ((info: CorruptEntryInfo) => void) | undefined
  /** Base of the connection names (`<name>:cmd`, `<name>:sub`). @default `lf:<prefix>` */
  connectionName?: string | undefined
  /**
   * How long a command may wait for Redis (connected or not) before its call fails with
   * `STORE_UNAVAILABLE` (ms or `'5s'`), so no call hangs through an outage; a brief drop
   * (a killed connection, a restart) is ridden out: ioredis reconnects and resends. Applies to
   * the connections the store opens from `url`; on a client you pass in `redis`, set ioredis'
   * own `commandTimeout`.
   * @default 5000
   */
  commandTimeout?: Duration | undefined
  /**
   * Told once, when the connection is first ready, that Redis evicts keys when full
   * (`maxmemory-policy` other than `noeviction`): an evicted key is a lost run. A Redis that
   * refuses `CONFIG` (some managed services) is not checked.
   * @default console.warn
   */
  onWarning?: ((message: string) => void) | undefined
}

/**
 * The Redis stream store: a {@link StreamStore}, a {@link RunStateStore}, a {@link ScheduleStore} and a {@link LimitStore}, plus Redis specifics.
 *
 * @example
 * ```ts
 * const store: RedisStreamStore = createRedisStreamStore({ url })
 * store.keys.events('r1')      // 'lf:{r1}:events'
 * store.stats.corruptEntries   // malformed entries skipped so far
 * ```
 */
export interface RedisStreamStore extends StreamStore, RunStateStore, ScheduleStore, LimitStore {
  /** The key builder (every key name the store uses). */
  readonly keys: Keys
  /** The command connection (yours when you passed `redis`). */
  readonly redis: RedisClient
  /** Counters: malformed entries skipped by reads and follows. */
  readonly stats: { readonly corruptEntries: number }
}

/** Default `commandTimeout`: a call fails with STORE_UNAVAILABLE after this long without an answer. */
const DEFAULT_COMMAND_TIMEOUT_MS = 5000
// each in a PUBLISH and an SPUBLISH variant (internal/livePubSub.ts)
const appendScript = defineLiveScript(APPEND_LUA)
const appendManyScript = defineLiveScript(APPEND_MANY_LUA)
const createRunScript = defineLiveScript(CREATE_RUN_LUA)
/** The run status an event sets (ARGV 6 of the append logic). */
const RUN_STATUS: Record<string, string> = {
  'flow.started': 'running',
  'flow.queued': 'queued',
  'flow.completed': 'completed',
  'flow.failed': 'failed',
  'flow.canceled': 'canceled',
}
/** `{code, id, fields?, flow?, status?, sid?, startedAtMs?, stateVersion?, stateDoc?}` (lua/append.ts). */
type ScriptReply = [number, string | number | null, unknown?, unknown?, unknown?, unknown?, unknown?, unknown?, unknown?]

function isIndexed(status: unknown): status is IndexedStatus {
  return typeof status === 'string' && (INDEXED_STATUSES as readonly string[]).includes(status)
}

/** Every option of {@link createRedisStreamStore}: another (a misspelt `retension`) is refused. */
const REDIS_STORE_KEYS = [
  'url',
  'redis',
  'prefix',
  'retention',
  'maxEventBytes',
  'maxEventsPerRun',
  'bus',
  'onCorrupt',
  'connectionName',
  'commandTimeout',
  'onWarning',
] satisfies Array<keyof RedisStreamStoreOptions>

/**
 * A {@link StreamStore} on Redis (ioredis): one stream per run, appends by one
 * Lua script (idempotency check, XADD, PUBLISH of the record with its id,
 * run summary, retention), gap-free `follow` over one shared subscriber
 * connection, a run index per flow, and Cluster support (run keys are
 * hash-tagged by run id).
 *
 * @example
 * ```ts
 * import { createRedisStreamStore } from '@leanflow/redis'
 * const store = createRedisStreamStore({ url: 'redis://localhost:6379', retention: '3d' })
 * const e = await store.append('r1', { kind: 'log', flow: 'r1', data: { level: 'info', msg: 'hi' } })
 * for await (const ev of store.follow('r1')) console.log(ev.id, ev.kind)
 * ```
 */
export function createRedisStreamStore(opts: RedisStreamStoreOptions): RedisStreamStore {
  const options = optionsObject(opts, 'createRedisStreamStore options', '{ url | redis, prefix?, retention?, … }', REDIS_STORE_KEYS)
  checkStoreOptions(options)
  const prefix = options.prefix ?? 'lf'
  const owned = !options.redis
  // Pub/Sub is server-wide, not per database: a store in database 3 rings its runs' bells on
  // channels of its own, or a follower in database 0 would take another app's records as its run's
  // (a client of yours: the database it is in at each call, a SELECT after this included)
  const urlDb = owned ? assertUrlDatabase(options.url as string) : 0
  const client = options.redis
  const keys = createKeys(prefix, owned || isCluster(client as RedisClient) ? () => urlDb : () => clientDatabase(client))
  const retentionMs = parseDuration(options.retention ?? STORE_DEFAULTS.retentionMs, 'retention')
  const maxEventBytes = positiveInteger(options.maxEventBytes ?? STORE_DEFAULTS.maxEventBytes, 'maxEventBytes')
  const maxEventsPerRun = positiveInteger(options.maxEventsPerRun ?? STORE_DEFAULTS.maxEventsPerRun, 'maxEventsPerRun')
  const limits = { maxEventBytes, byteLength: (json: string) => Buffer.byteLength(json, 'utf8') }
  const name = options.connectionName ?? `lf:${prefix}`
  const commandTimeout = positiveInteger(
    parseDuration(options.commandTimeout ?? DEFAULT_COMMAND_TIMEOUT_MS, 'commandTimeout'),
    'commandTimeout',
  )
  const redis: RedisClient = options.redis ?? new Redis(options.url!, { connectionName: `${name}:cmd`, commandTimeout })
  // a new follower's subscription waits as long as a command does (a client of yours: its own commandTimeout, if any)
  const subscribeTimeoutMs = owned || options.commandTimeout !== undefined ? commandTimeout : (clientTimeout(redis) ?? commandTimeout)
  // ioredis reconnects by itself and failed commands reject: keep its connection errors off stderr.
  // One is fatal: a database index the server lacks, after which ioredis would go on in database 0.
  const refused = owned ? refuseMissingDatabase(redis as Redis, options.url as string) : () => undefined
  // a STORE_UNAVAILABLE names where Redis was looked for, and why it was not reached
  if (owned) watchEndpoint(redis as Redis, options.url as string)
  // an evicting Redis loses runs without an error: say so once
  const unchecked = checkEvictionPolicy(
    redis,
    owned ? redacted(options.url as string) : 'the client you passed',
    options.onWarning ?? console.warn,
  )
  const index = new RunIndex(redis, keys, retentionMs)
  const clustered = isCluster(redis)
  // classic pub/sub on a standalone Redis, sharded on a Cluster of Redis ≥ 7 (internal/livePubSub.ts)
  const live = createLivePubSub(redis, `${name}:sub`)
  const hub = live.hub
  let corruptEntries = 0
  const onCorrupt = (info: CorruptEntryInfo) => {
    corruptEntries++
    options.onCorrupt?.(info)
  }
  let closed: Promise<void> | undefined

  /** ARGV 1..14 of the append logic (lua/append.ts), shared by append and createRun. */
  function scriptArgs(runId: string, event: NewEvent, checked: ValidatedAppend, opts?: AppendOptions) {
    const fence = opts?.fence
    return [
      checked.json,
      keys.live(runId),
      checked.idempotencyKey ?? '',
      maxEventsFor(event.kind, maxEventsPerRun),
      retentionMs,
      (Object.hasOwn(RUN_STATUS, event.kind) && RUN_STATUS[event.kind]) || '',
      checked.flowName ?? '',
      fence === undefined ? '' : String(fence.key),
      fence === undefined ? '' : String(fence.token),
      opts?.after === undefined ? '' : String(opts.after),
      event.step === undefined ? '' : `s:${event.step}`,
      stepClass(event),
      checked.flowVersion === undefined ? '' : String(checked.flowVersion),
      eventExtra(event),
    ]
  }

  async function append(runId: string, event: NewEvent, opts?: AppendOptions): Promise<EventRecord> {
    // every check before the script (validateAppend: the one all stores share): a refused append writes nothing
    const checked = validateAppend(runId, event, opts, limits)
    const fence = opts?.fence
    const runKeys = keys.runKeys(runId)
    if (fence !== undefined) runKeys.push(keys.leases(runId))
    let reply: ScriptReply
    try {
      reply = (await live.call(appendScript, runKeys, scriptArgs(runId, event, checked, opts))) as ScriptReply
    } catch (err) {
      throw noIdError(keys.events(runId), runId, err)
    }
    refusal(runId, event.kind, reply, opts)
    return settle(runId, event, checked.flowName, reply)
  }

  /** Throws the error of a refused append (`{-1, len}`, `{-2}`, `{-3}`, `{-4, id}`: nothing written). */
  function refusal(runId: string, kind: string, [code, len]: ScriptReply, opts: AppendManyOptions | undefined, batch?: number): void {
    if (code === -4) throw noIdLeft(keys.events(runId), runId, len)
    if (code === -3) {
      throw new LeanflowError(
        'INVALID_ARGUMENT',
        `Append of "${kind}" to run "${runId}" refused: it must come after the append with idempotency key "${opts?.after}", which is not stored; append that one first. Nothing was written.`,
      )
    }
    if (code === -2) {
      throw new NonRetriableError(
        `Append to run "${runId}" refused: its fence "${opts?.fence?.key}" no longer holds this token (the step's lease was taken over or the run ended); nothing was written.`,
      )
    }
    if (code === -1) throw tooLong(runId, len, maxEventsPerRun, batch)
  }

  async function appendMany(runId: string, items: readonly BatchAppend[], options?: AppendManyOptions): Promise<EventRecord[]> {
    const opts = appendManyOptions(options)
    // every event checked before the script: a refused batch writes nothing
    const checked = validateBatch(runId, items, limits)
    if (items.length === 0) return []
    const fence = opts.fence
    const runKeys = keys.runKeys(runId)
    if (fence !== undefined) runKeys.push(keys.leases(runId))
    const args: Array<string | number> = [
      fence === undefined ? '' : String(fence.key),
      fence === undefined ? '' : String(fence.token),
      opts.after === undefined ? '' : String(opts.after),
      maxEventsPerRun,
      items.length,
    ]
    for (const [i, it] of items.entries()) args.push(...scriptArgs(runId, it.event, checked[i] as ValidatedAppend))
    let reply: ScriptReply | ScriptReply[]
    try {
      reply = (await live.call(appendManyScript, runKeys, args)) as ScriptReply | ScriptReply[]
    } catch (err) {
      throw noIdError(keys.events(runId), runId, err)
    }
    if (!Array.isArray(reply[0])) refusal(runId, items[0]?.event.kind ?? 'a batch', reply as ScriptReply, opts, items.length)
    const replies = reply as ScriptReply[]
    return Promise.all(replies.map((r, i) => settle(runId, (items[i] as BatchAppend).event, checked[i]?.flowName, r)))
  }

  /** After an append (or a create) stored or found its event: the record, the run's index entry, the bus. */
  async function settle(runId: string, event: NewEvent, flowName: string | undefined, reply: ScriptReply): Promise<EventRecord> {
    const [code, id, fields, flow, status, sid, startedAt] = reply
    const eventId = String(id)
    const record: EventRecord =
      (code === 0 && fields ? decodeEntry(runId, eventId, fields, onCorrupt) : undefined) ?? buildRecord(runId, eventId, event)
    if (code === 0) markRepeatedAppend(record)
    if (typeof flow === 'string' && isIndexed(status) && typeof sid === 'string' && startedAt != null) {
      const write = index.apply({ flow, runId, status, sid, startedAtMs: Number(startedAt) }, flowName !== undefined)
      // On one connection (a standalone Redis) the index write goes out behind the append and
      // before any later command of this process, so it need not be waited for (a round trip
      // less at each status change: a run's start and end, each await). Its failure (Redis
      // unreachable past commandTimeout) must not fail an append that was stored: the entry is
      // written again by the run's next status change, and listRuns moves entries it finds
      // behind. On a Cluster the index lives in the flow's slot, on another connection: waited for.
      if (clustered) await write
      else write.catch(() => {})
    }
    // the bus's subscribers see the record as stored (its JSON: a Date its ISO string, NaN null), as
    // on every store, never the caller's own objects (which it may change after the append)
    if (code === 1 && options.bus) options.bus.publish(JSON.parse(JSON.stringify(record)) as EventRecord)
    return record
  }

  async function createRun<T>(runId: string, doc: T, first: NewEvent, opts: CreateRunOptions): Promise<CreateRunResult<T>> {
    // every check before the script: a refused create writes nothing
    const o = storeOptions('createRun', opts)
    const checked = validateAppend(runId, first, { idempotencyKey: o.idempotencyKey }, limits)
    requiredIdempotencyKey(checked.idempotencyKey, 'createRun idempotency key')
    const { flowName } = checked
    const args: Array<string | number> = scriptArgs(runId, first, checked)
    args.push(runStateJson(runId, doc), o.fences === undefined ? '0' : '1')
    for (const [fence, token] of Object.entries(o.fences ?? {})) args.push(fence, String(token))
    const runKeys = [...keys.runKeys(runId), keys.state(runId), keys.leases(runId)]
    let reply: ScriptReply
    try {
      reply = (await live.call(createRunScript, runKeys, args)) as ScriptReply
    } catch (err) {
      throw noIdError(keys.events(runId), runId, err)
    }
    const [code, id] = reply
    if (code === -1) throw tooLong(runId, id, maxEventsPerRun)
    if (code === -4) throw noIdLeft(keys.events(runId), runId, id)
    if (code === 1) return { created: true, version: 1, record: await settle(runId, first, flowName, reply) }
    const [version, stored] = reply.slice(7)
    const record = id == null ? null : await settle(runId, first, flowName, reply)
    const current = version == null ? null : { version: Number(version), doc: JSON.parse(String(stored)) as T }
    return { created: false, current, record }
  }

  /** The run's first terminal event, from its summary hash: a terminal status sticks, and `sid` is the event that set it. */
  async function runEnd(runId: string): Promise<{ id: string; kind: 'flow.completed' | 'flow.failed' | 'flow.canceled' } | undefined> {
    const [status, sid] = await redis.hmget(keys.meta(runId), 'status', 'sid')
    if (sid == null || (status !== 'completed' && status !== 'failed' && status !== 'canceled')) return undefined
    return { id: sid, kind: `flow.${status}` }
  }

  // the one error every failed call answers once the store cannot work (a missing database, or its connections closed)
  const fatal = () => refused() ?? (owned && closed ? closedError() : undefined)
  const store: RedisStreamStore = {
    maxEventBytes,
    storeId: `redis:${prefix}`,
    // the ports mixed in are wrapped with the same fatal error (withStoreErrors below wraps a method once)
    ...redisRunStateStore({ redis, prefix, retention: retentionMs, onCorrupt }, fatal),
    ...createRedisSchedules({ redis, prefix }, fatal),
    ...createRedisLimits({ redis, prefix }, fatal),
    keys,
    redis,
    get stats() {
      return { corruptEntries }
    },
    createRun,
    append,
    appendMany,
    read: (runId, opts) => readEvents({ redis, keys, onCorrupt }, runId, opts),
    follow(runId: string, options?: FollowOptions) {
      const events = keys.events(runId) // validates the run id before iteration starts
      const opts = storeOptions('follow', options)
      const signal = followSignal(opts.signal)
      const ctx = { redis, keys, hub, onCorrupt, subscribeTimeoutMs }
      if (opts.after === undefined) return followRun(ctx, runId, undefined, signal)
      const after = streamId('follow', 'after', opts.after)
      const start = () => followRun(ctx, runId, after, signal)[Symbol.asyncIterator]()
      return { [Symbol.asyncIterator]: () => checkedFollow(redis, events, runId, after, start) }
    },
    listRuns: (flowName, opts) => index.listRuns(flowName, opts),
    listFlows: () => index.listFlows(),
    countRuns: (flowName) => index.countRuns(flowName),
    runEnd,
    close() {
      closed ??= (async () => {
        unchecked()
        await hub.close()
        if (owned) await (redis as Redis).quit().catch(() => redis.disconnect())
      })()
      return closed
    },
  }
  // the one choke point for driver errors: every method (follow's iterators too) throws LeanflowErrors;
  // a call that fails on connections this store opened and close() quit says so, not "retry"
  return withStoreErrors(store, fatal, redis)
}
