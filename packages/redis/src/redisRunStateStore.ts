import {
  assertName,
  type CasRunStateOptions,
  type CasRunStateResult,
  type ChildOutcomeEntry,
  casRunStateOptions,
  checkLookup,
  checkReadExternal,
  checkWatchKind,
  type Duration,
  documentJson,
  idempotencyKey,
  invalidArgument,
  LeanflowError,
  type LookupNamespace,
  optionsObject,
  type PutChildOutcomeOptions,
  type PutChildOutcomeResult,
  parseDuration,
  type RunStateRecord,
  type RunStateStore,
  runStateJson,
  STORE_DEFAULTS,
  type StoredExternalEvent,
} from '@leanflow/core'
import { type CorruptHandler, corruptExternal, decodeExternal } from './internal/decode.js'
import { coalesceWrites, defineScript, type RedisClient } from './internal/script.js'
import { withStoreErrors } from './internal/storeErrors.js'
import { createKeys } from './keys.js'
import { PUBLISH_EXTERNAL_LUA, PUT_CHILD_OUTCOME_LUA, RUN_STATE_CAS_LUA, TAKE_CHILD_OUTCOMES_LUA } from './lua/runState.js'

/** Options of {@link createRedisRunStateStore}. */
export interface RedisRunStateStoreOptions {
  /** The command connection (or Cluster). */
  redis: RedisClient
  /** Prefix of every key. @default 'lf' */
  prefix?: string | undefined
  /** How long a finished run's state (and external events) are kept. @default '7d' */
  retention?: Duration | undefined
  /**
   * Called for each malformed entry (written by hand) of an external-event stream that a match
   * skips, with `runId` `''` and its `eventKind`. Must not throw.
   */
  onCorrupt?: CorruptHandler | undefined
}

const casScript = defineScript(RUN_STATE_CAS_LUA)
const publishScript = defineScript(PUBLISH_EXTERNAL_LUA)
const putOutcomeScript = defineScript(PUT_CHILD_OUTCOME_LUA)
const takeOutcomesScript = defineScript(TAKE_CHILD_OUTCOMES_LUA)
const PAGE = 200

/** The outcomes of an outbox's fields and values (HGETALL), its `~` and `@` fields left out. */
function outcomesOf(flat: string[]): ChildOutcomeEntry[] {
  const out: ChildOutcomeEntry[] = []
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const field = flat[i] as string
    if (field !== '@' && field !== '~') out.push({ childRunId: field, outcome: JSON.parse(flat[i + 1] as string) })
  }
  return out
}

/**
 * The {@link RunStateStore} on Redis: a run's document is one hash in the
 * run's slot (`<prefix>:{<runId>}:state`), changed only by one Lua
 * compare-and-set; trigger and start lookups are keys in their own slots;
 * external events live in one slot (`<prefix>:{events}:…`): a global
 * sequence counter, a stream per kind (trimmed by age), the sets of runs
 * waiting per kind. The clock is Redis `TIME`. `createRedisStreamStore()`
 * mixes it in.
 *
 * @example
 * ```ts
 * const state = createRedisRunStateStore({ redis: new Redis(url) })
 * await state.casRunState('r1', 0, { status: 'running' }) // { ok: true, version: 1 }
 * ```
 */
export function createRedisRunStateStore(options: RedisRunStateStoreOptions): RunStateStore {
  return redisRunStateStore(options)
}

/**
 * {@link createRedisRunStateStore}, its errors under `fatal` (the stream store's: its connections
 * closed, a missing database), so the methods a stream store mixes in fail as its own do.
 */
export function redisRunStateStore(options: RedisRunStateStoreOptions, fatal?: () => LeanflowError | undefined): RunStateStore {
  const { redis } = options
  const prefix = options.prefix ?? 'lf'
  const retentionMs = parseDuration(options.retention ?? STORE_DEFAULTS.retentionMs, 'retention')
  const keys = createKeys(prefix)
  const k = {
    state: keys.state,
    outbox: keys.outbox,
    leases: keys.leases,
    lookup: keys.lookup,
    seq: keys.externalSeq(),
    kind: keys.externalKind,
    watch: keys.externalWatchers,
    idem: keys.externalIdem,
  }
  const toRecord = (kind: string, seq: number, ms: number, data: unknown): StoredExternalEvent => ({
    id: `${ms}-${seq}`,
    ts: new Date(ms).toISOString(),
    kind,
    data,
    seq,
  })
  const onCorrupt = options.onCorrupt ?? (() => {})

  // every driver error reaches the caller as a LeanflowError (STORE_FULL, STORE_UNAVAILABLE, INTERNAL)
  return withStoreErrors(
    {
      async now() {
        coalesceWrites(redis)
        const [s, us] = await redis.time()
        return Number(s) * 1000 + Math.floor(Number(us) / 1000)
      },
      async getRunState<T>(runId: string): Promise<RunStateRecord<T> | null> {
        const [v, d] = (await redis.hmget(k.state(runId), 'v', 'd')) as [string | null, string | null]
        return v === null || d === null ? null : { version: Number(v), doc: JSON.parse(d) as T }
      },
      async casRunState<T>(runId: string, expected: number, doc: T, options?: CasRunStateOptions): Promise<CasRunStateResult<T>> {
        const opts = casRunStateOptions(runId, expected, options)
        const state = k.state(runId)
        const args: Array<string | number> = [
          expected,
          opts.json ?? runStateJson(runId, doc),
          opts.finished ? retentionMs : 0,
          opts.fences ? '1' : '0',
        ]
        for (const [name, token] of Object.entries(opts.fences ?? {})) args.push(name, String(token))
        const reply = (await casScript.call(redis, [state, k.leases(runId)], args)) as [number, number, string?]
        if (reply[0] === 1) return { ok: true, version: Number(reply[1]) }
        const current = reply[2] === undefined ? null : { version: Number(reply[1]), doc: JSON.parse(reply[2]) as T }
        return { ok: false, current }
      },
      async createRun() {
        throw new LeanflowError(
          'INVALID_ARGUMENT',
          "createRun needs the run's event log: use createRedisStreamStore(), which holds both the log and the run state.",
        )
      },
      async putLookup(ns: LookupNamespace, key: string, value: string, ttlMs?: number) {
        checkLookup(ns, key)
        if (ttlMs !== undefined && !(typeof ttlMs === 'number' && Number.isFinite(ttlMs) && ttlMs > 0))
          throw invalidArgument(`putLookup ttlMs of ${ns} "${key}"`, ttlMs, 'a lifetime in ms above 0, or leave it out')
        const name = k.lookup(ns, key)
        const set = ttlMs === undefined ? await redis.set(name, value, 'NX') : await redis.set(name, value, 'PX', Math.ceil(ttlMs), 'NX')
        if (set === 'OK') return value
        return (await redis.get(name)) ?? value
      },
      async getLookup(ns: LookupNamespace, key: string) {
        checkLookup(ns, key)
        return redis.get(k.lookup(ns, key))
      },
      async retireLookup(ns: LookupNamespace, key: string) {
        checkLookup(ns, key)
        // PEXPIRE of an absent key does nothing; the run's keys get the same retention after this
        await redis.pexpire(k.lookup(ns, key), retentionMs)
      },
      async publishExternal<D>(kind: string, data: D, opts?: { idempotencyKey?: string }) {
        const key = idempotencyKey(
          optionsObject(opts, 'publishExternal options', '{ idempotencyKey? }', ['idempotencyKey']).idempotencyKey,
          'publishExternal idempotency key',
        )
        const kindKey = k.kind(kind) // INVALID_NAME for a bad kind, before anything is stored
        // undefined is null; a BigInt, a cycle or a function is the caller's INVALID_ARGUMENT, never an INTERNAL
        const json = documentJson(data ?? null, `The data of external event "${kind}"`, `data of external event "${kind}"`)
        const reply = (await publishScript.call(
          redis,
          [k.seq, kindKey, key === undefined ? k.seq : k.idem(key)],
          [json, key === undefined ? '0' : '1', retentionMs, kind],
        )) as [number, number, string, string]
        // a repeated key answers its first event, of its own kind (unknown for a key kept from before kinds were kept)
        return toRecord(reply[3] || kind, Number(reply[0]), Number(reply[1]), JSON.parse(reply[2])) as StoredExternalEvent<D>
      },
      async externalPosition() {
        coalesceWrites(redis)
        return Number((await redis.get(k.seq)) ?? 0)
      },
      async readExternal(kind: string, afterSeq: number) {
        checkReadExternal(kind, afterSeq)
        const out: StoredExternalEvent[] = []
        let high = '+'
        // the first entry at or before afterSeq ends the scan once the next older one shows it in
        // order (numbered above it): a newer entry numbered before an older one was written by hand
        let end: { id: string; seq: number } | undefined
        for (;;) {
          const page = (await redis.xrevrange(k.kind(kind), high, '-', 'COUNT', PAGE)) as Array<[string, string[]]>
          for (const [id, fields] of page) {
            high = `(${id}`
            // an entry written by hand is skipped and reported, never the end of the scan nor a throw
            const e = decodeExternal(kind, id, fields, onCorrupt)
            if (e === undefined) continue
            if (end !== undefined) {
              if (e.seq < end.seq) return out.reverse()
              corruptExternal(onCorrupt, kind, end.id, `its sequence number ${end.seq} is below an older entry's (${e.seq})`)
              end = undefined
            }
            if (e.seq <= afterSeq) end = { id, seq: e.seq }
            else out.push(toRecord(kind, e.seq, e.ms, e.data))
          }
          if (page.length < PAGE) return out.reverse()
        }
      },
      async watchKind(kind: string, runId: string) {
        checkWatchKind(kind, runId)
        await redis.sadd(k.watch(kind), runId)
      },
      async unwatchKind(kind: string, runId: string) {
        checkWatchKind(kind, runId)
        await redis.srem(k.watch(kind), runId)
      },
      async kindWatchers(kind: string) {
        return redis.smembers(k.watch(kind))
      },
      async putChildOutcome(
        parent: string,
        child: string,
        outcome: unknown,
        opts: PutChildOutcomeOptions = {},
      ): Promise<PutChildOutcomeResult> {
        const args = [assertName(child, 'run id'), JSON.stringify(outcome ?? null), retentionMs, opts.take ? '1' : '0']
        const reply = (await putOutcomeScript.call(redis, [k.state(parent), k.outbox(parent)], args)) as [number, ...string[]]
        const ms = Number(reply[0])
        if (ms === -1 || ms === -2) return { tell: false }
        const res: PutChildOutcomeResult = ms < 0 ? { tell: true } : { tell: true, sinceTakeMs: ms }
        if (opts.take) res.taken = outcomesOf(reply.slice(1) as string[])
        return res
      },
      async takeChildOutcomes(parent: string): Promise<ChildOutcomeEntry[]> {
        return outcomesOf((await takeOutcomesScript.call(redis, [k.outbox(parent)], [])) as string[])
      },
      async dropChildOutcomes(parent: string, children: readonly string[]) {
        if (children.length > 0) await redis.hdel(k.outbox(parent), ...children)
      },
    },
    fatal,
    redis,
  )
}
