import { type Duration, parseDuration } from './duration.js'
import { LeanflowError, NonRetriableError } from './errors.js'
import { compareEventIds } from './eventIds.js'
import type { EventRecord, NewEvent } from './events.js'
import { requiredIdempotencyKey } from './idempotencyKey.js'
import { indexAfter, MemoryFollower } from './internal/memoryFollow.js'
import { type MemoryRun, MemoryRuns } from './internal/memoryRuns.js'
import { invalidArgument, optionsObject, positiveInteger } from './invalidArgument.js'
import type { LimitStore } from './limitStore.js'
import { createMemoryLimits } from './memoryLimits.js'
import { createMemoryRunStateStore, fenceHolds, type SyncRunState, syncRunState } from './memoryRunStateStore.js'
import { createMemorySchedules } from './memorySchedules.js'
import { assertFlowName, assertName } from './names.js'
import { refuseAfterClose } from './refuseAfterClose.js'
import type { RunStateStore } from './runStateStore.js'
import type { ScheduleStore } from './scheduleStore.js'
import { followSignal } from './storeChecks.js'
import { storeOptions } from './storeOptions.js'
import { eventIdOption, historyGone, runTooLong } from './storeRefusals.js'
import {
  type AppendManyOptions,
  type AppendOptions,
  type BatchAppend,
  type FollowOptions,
  type ListRunsOptions,
  markRepeatedAppend,
  maxEventsFor,
  type ReadOptions,
  type RunStatus,
  type RunSummary,
  STORE_DEFAULTS,
  type StreamStore,
} from './streamStore.js'
import { appendManyOptions, type ValidatedAppend, validateAppend, validateBatch } from './validateAppend.js'

/** Options of {@link createMemoryStreamStore}. */
export interface MemoryStreamStoreOptions {
  /**
   * Every appended record (with its id) is published on this bus (an `EventBus`, or anything with
   * its `publish`: typed by shape, so a bus from the CommonJS and the ES build of core both fit).
   */
  bus?: { publish(event: EventRecord): unknown } | undefined
  /**
   * How long a finished run (terminal `flow.*` event) is kept: ms or a duration string.
   * @default '7d'
   */
  retention?: Duration | undefined
  /**
   * Largest event, in bytes of its JSON (UTF-8).
   * @default 1048576 (1 MiB)
   */
  maxEventBytes?: number | undefined
  /**
   * Most events one run may hold; past it, appends throw `RUN_TOO_LONG`.
   * @default 100000
   */
  maxEventsPerRun?: number | undefined
  /**
   * The store's clock in ms (ids, `ts`, retention, and the deadlines of run state).
   * @default Date.now
   */
  now?: (() => number) | undefined
}

/** The store `createMemoryStreamStore()` returns: a {@link StreamStore}, a {@link RunStateStore}, a {@link ScheduleStore} and a {@link LimitStore} held in memory. */
export interface MemoryStreamStore extends StreamStore, RunStateStore, ScheduleStore, LimitStore {}

const STATUSES: readonly RunStatus[] = ['pending', 'queued', 'running', 'awaiting', 'completed', 'failed', 'canceled']

/**
 * The embedded {@link StreamStore}: the whole contract in memory, no server,
 * browser-safe. Records are stored as JSON text, so callers can neither
 * mutate stored events nor see prototype pollution from `__proto__` keys.
 *
 * @example
 * ```ts
 * const store = createMemoryStreamStore({ retention: '1d' })
 * const e = await store.append('run-1', { kind: 'user.hello', flow: 'run-1', data: { hi: 1 } })
 * for await (const ev of store.follow('run-1', { signal })) console.log(ev.id, ev.kind)
 * ```
 */
export function createMemoryStreamStore(opts?: MemoryStreamStoreOptions): MemoryStreamStore {
  const options = optionsObject(opts, 'createMemoryStreamStore options', '{ bus?, retention?, maxEventBytes?, maxEventsPerRun?, now? }', [
    'bus',
    'retention',
    'maxEventBytes',
    'maxEventsPerRun',
    'now',
  ] satisfies Array<keyof MemoryStreamStoreOptions>)
  const bus = options.bus
  if (bus !== undefined && typeof (bus as { publish?: unknown } | null)?.publish !== 'function')
    throw invalidArgument('createMemoryStreamStore bus', bus, 'an EventBus (new EventBus()), or leave it out')
  if (options.now !== undefined && typeof options.now !== 'function')
    throw invalidArgument('createMemoryStreamStore now', options.now, 'a function answering ms (() => Date.now()), or leave it out')
  const retentionMs = parseDuration(options.retention ?? STORE_DEFAULTS.retentionMs, 'retention')
  const maxEventBytes = positiveInteger(options.maxEventBytes ?? STORE_DEFAULTS.maxEventBytes, 'maxEventBytes')
  const maxEventsPerRun = positiveInteger(options.maxEventsPerRun ?? STORE_DEFAULTS.maxEventsPerRun, 'maxEventsPerRun')
  const runs = new MemoryRuns(options.now ?? Date.now, retentionMs)
  // external events and their keys too, as on Redis (the store's one retention)
  const state = createMemoryRunStateStore({ now: options.now ?? Date.now, retention: retentionMs, eventRetention: retentionMs })

  const limits = { maxEventBytes }

  function append(runId: string, event: NewEvent, opts: AppendOptions = {}): EventRecord {
    return write(runId, event, validateAppend(runId, event, opts, limits), opts)
  }

  function appendMany(runId: string, items: readonly BatchAppend[], options?: AppendManyOptions): EventRecord[] {
    const opts = appendManyOptions(options)
    const checked = validateBatch(runId, items, limits)
    if (items.length === 0) return [] // nothing to order or fence (as the Redis store answers, with no round trip)
    const existing = runs.get(runId)
    // the batch's checks, once, before anything is written (write checks nothing more that can fail)
    const fence = opts.fence
    if (fence !== undefined && !fenceHolds(state, runId, String(fence.key), String(fence.token))) throw fenced(runId, fence.key)
    if (opts.after !== undefined && existing?.idempotency.has(opts.after) !== true)
      throw notAfter(runId, items[0]?.event.kind ?? 'a batch', opts.after)
    const keys = new Set<string>()
    const held = existing?.entries.length ?? 0
    let fresh = 0
    for (const [i, c] of checked.entries()) {
      const key = c.idempotencyKey
      if (key !== undefined && (keys.has(key) || existing?.idempotency.has(key) === true)) continue
      if (key !== undefined) keys.add(key)
      // each new event fits as its own append would, behind the new ones before it (closing kinds past the limit)
      if (held + fresh >= maxEventsFor((items[i] as BatchAppend).event.kind, maxEventsPerRun))
        throw runTooLong(runId, held, maxEventsPerRun, items.length)
      fresh++
    }
    return checked.map((c, i) => write(runId, (items[i] as BatchAppend).event, c, {}))
  }

  /** Stores a checked append (`validateAppend`), or returns the first record of its idempotency key. */
  function write(runId: string, event: NewEvent, checked: ValidatedAppend, opts: AppendOptions): EventRecord {
    const { kind, step } = event
    const { json: body, flowName, flowVersion, idempotencyKey: key } = checked
    const existing = runs.get(runId)
    const first = key === undefined ? undefined : existing?.idempotency.get(key)
    if (first !== undefined) return markRepeatedAppend(JSON.parse(first) as EventRecord)
    const fence = opts.fence
    if (fence !== undefined && !fenceHolds(state, runId, String(fence.key), String(fence.token))) throw fenced(runId, fence.key)
    if (opts.after !== undefined && existing?.idempotency.has(opts.after) !== true) throw notAfter(runId, kind, opts.after)
    if (existing && existing.entries.length >= maxEventsFor(kind, maxEventsPerRun))
      throw runTooLong(runId, existing.entries.length, maxEventsPerRun)

    const now = runs.now()
    const [ms, seq] = existing && now <= existing.lastMs ? [existing.lastMs, existing.lastSeq + 1] : [now, 0]
    const id = `${ms}-${seq}`
    const ts = new Date(ms).toISOString()
    // the record's JSON: id and ts in front of the checked event's JSON (the store's one serialization)
    const json = `{"id":"${id}","ts":"${ts}",${body.slice(1)}`
    const run = existing ?? runs.getOrCreate(runId)
    run.lastMs = ms
    run.lastSeq = seq
    run.entries.push({ id, json })
    if (key !== undefined) run.idempotency.set(key, json)
    runs.settle(run, { id, kind, step, data: event.data === undefined ? null : event.data, ms, ts, flowName, flowVersion })
    runs.ring(runId)
    bus?.publish(JSON.parse(json) as EventRecord)
    return JSON.parse(json) as EventRecord
  }

  function read(runId: string, options?: ReadOptions): EventRecord[] {
    assertName(runId, 'run id')
    const opts = storeOptions('read', options)
    const after = eventIdOption('read', 'after', opts.after)
    const before = eventIdOption('read', 'before', opts.before)
    const limit = positiveInteger(opts.limit ?? STORE_DEFAULTS.readLimit, 'read limit')
    const direction = opts.direction === undefined ? 'forward' : opts.direction
    if (direction !== 'forward' && direction !== 'backward') {
      throw invalidArgument('read direction', direction, "'forward' or 'backward'")
    }
    const run = runs.get(runId)
    if (!run) return []
    const lo = indexAfter(run.entries, after)
    const hi = before === undefined ? run.entries.length : indexAfter(run.entries, before, true)
    if (hi <= lo) return []
    const slice =
      direction === 'forward' ? run.entries.slice(lo, Math.min(hi, lo + limit)) : run.entries.slice(Math.max(lo, hi - limit), hi).reverse()
    return slice.map((e) => JSON.parse(e.json) as EventRecord)
  }

  function listRuns(flowName: string, options?: ListRunsOptions): RunSummary[] {
    assertFlowName(flowName) // a reserved name too (INVALID_NAME), as the Redis store's index keys refuse it
    const opts = storeOptions('listRuns', options)
    const limit = positiveInteger(opts.limit ?? STORE_DEFAULTS.listLimit, 'listRuns limit')
    const { before, status } = opts
    if (before !== undefined && !Number.isFinite(before)) {
      throw invalidArgument('listRuns before', before, 'a start time in ms')
    }
    if (status !== undefined && !STATUSES.includes(status)) {
      throw invalidArgument('listRuns status', status, `one of ${STATUSES.join(', ')}`)
    }
    const picked = runs
      .flowRuns(flowName, status)
      .filter((r) => before === undefined || r.startedMs! < before)
      .sort(newestFirst)
    return picked.slice(0, limit).map((r) => summaryCopy(r.summary!))
  }

  function listFlows(): Array<{ flow: string; runs: number }> {
    const out: Array<{ flow: string; runs: number }> = []
    for (const flow of runs.flowNames().sort()) {
      const n = runs.flowRuns(flow).length
      if (n > 0) out.push({ flow, runs: n })
    }
    return out
  }

  function follow(runId: string, options?: FollowOptions): AsyncIterable<EventRecord> {
    assertName(runId, 'run id')
    const opts = storeOptions('follow', options)
    const after = eventIdOption('follow', 'after', opts.after)
    const signal = followSignal(opts.signal)
    return {
      [Symbol.asyncIterator]: () => {
        // a position past the run's last event is none this run gave: HISTORY_GONE, as for a run retention removed
        const run = after === undefined ? undefined : runs.get(runId)
        if (run && after !== undefined && compareEventIds(after, `${run.lastMs}-${run.lastSeq}`) > 0) return beyondLast(runId, after)
        return new MemoryFollower(runs, runId, after, signal)
      },
    }
  }

  const sync = syncRunState(state)
  // a run's document goes with its log (its retention timer), not only when it is read again
  runs.onRunExpired((runId) => sync.forget(runId))
  const store: MemoryStreamStore = {
    maxEventBytes,
    ...state,
    // its schedules' writes wake a started runner's ticker, which then keeps no timer while there
    // is no schedule: on Date's clock (real or faked) only; a clock of the caller's moves with no
    // timer, so the ticker looks every second instead
    ...createMemorySchedules({ tell: options.now === undefined }),
    ...createMemoryLimits(() => runs.now()),
    async createRun(runId, doc, first, opts) {
      // every check before anything is written, as the Redis store does before its script
      const o = storeOptions('createRun', opts)
      const checked = validateAppend(runId, first, { idempotencyKey: o.idempotencyKey }, limits)
      const key = requiredIdempotencyKey(checked.idempotencyKey, 'createRun idempotency key')
      let json: string | undefined
      try {
        json = JSON.stringify(doc)
      } catch (cause) {
        throw new LeanflowError('INVALID_ARGUMENT', `The state of run "${runId}" cannot be stored as JSON (${String(cause)}).`, { cause })
      }
      if (json === undefined) throw invalidArgument(`state of run "${runId}"`, String(doc), 'a JSON value (an object)')
      const prev = runs.get(runId)?.idempotency.get(key)
      const current = sync.get<typeof doc>(runId)
      if (prev !== undefined || current)
        // the stored first event, marked as a repeat (as the Redis store answers it)
        return { created: false, current, record: prev === undefined ? null : markRepeatedAppend(JSON.parse(prev) as EventRecord) }
      // write checks nothing that can fail now but the run's length; then the document: both in this one turn
      const record = write(runId, first, checked, {})
      const res = sync.cas(runId, 0, doc, o.fences === undefined ? {} : { fences: o.fences })
      return { created: true, version: res.ok ? res.version : 1, record }
    },
    append: async (runId, event, opts) => append(runId, event, opts),
    appendMany: async (runId, items, opts) => appendMany(runId, items, opts),
    read: async (runId, opts) => read(runId, opts),
    follow,
    listRuns: async (flowName, opts) => listRuns(flowName, opts),
    listFlows: async () => listFlows(),
    countRuns: async (flow) => runs.countRuns(assertFlowName(flow)),
    runEnd: async (runId) => {
      const end = runs.get(assertName(runId, 'run id'))?.end
      return end === undefined ? undefined : { id: end.id, kind: end.kind }
    },
    close: async () => runs.close(),
  }
  // every call after close() rejects with STORE_UNAVAILABLE, as on a Redis store made from a URL
  refuseAfterClose(store, () => runs.closed, closedError)
  internals.set(store, runs)
  stateInternals.set(store, sync)
  return store
}

const internals = new WeakMap<MemoryStreamStore, MemoryRuns>()
const stateInternals = new WeakMap<MemoryStreamStore, SyncRunState>()

/** The run state behind a memory store (its synchronous side: `sizes()` for tests of retention). Not exported from the package. @internal */
export function memoryStoreState(store: MemoryStreamStore): SyncRunState {
  const sync = stateInternals.get(store)
  if (!sync) throw new LeanflowError('INVALID_ARGUMENT', 'Not a store made by createMemoryStreamStore().')
  return sync
}

/**
 * The run table behind a memory store, for modules inside core that keep
 * more per-run state (run state, tests): `now()`, `has(runId)`,
 * `onRunExpired(fn)`, `followerCount()`. Not exported from the package.
 * @internal
 */
export function memoryStoreInternals(store: MemoryStreamStore): MemoryRuns {
  const runs = internals.get(store)
  if (!runs) throw new LeanflowError('INVALID_ARGUMENT', 'Not a store made by createMemoryStreamStore().')
  return runs
}

/** A copy of a run's summary with its keys in the order of `RunSummary` (and of the Redis store's), whatever order they were set in. */
function summaryCopy(s: RunSummary): RunSummary {
  const out: RunSummary = { runId: s.runId, flow: s.flow, status: s.status, startedAt: s.startedAt }
  if (s.completedAt !== undefined) out.completedAt = s.completedAt
  if (s.parent !== undefined) out.parent = s.parent
  if (s.version !== undefined) out.version = s.version
  if (s.children !== undefined) out.children = s.children
  return out
}

function newestFirst(a: MemoryRun, b: MemoryRun): number {
  const d = b.startedMs! - a.startedMs!
  return d !== 0 ? d : a.runId < b.runId ? 1 : a.runId > b.runId ? -1 : 0
}

/** The iteration of a follow whose `after` is past the run's last event: HISTORY_GONE at the first `next()`. */
function beyondLast(runId: string, after: string): AsyncIterator<EventRecord> {
  let thrown = false
  return {
    async next() {
      if (thrown) return { done: true, value: undefined }
      thrown = true
      throw historyGone(runId, after, true)
    },
    async return() {
      thrown = true
      return { done: true, value: undefined }
    },
  }
}

/** A call on a memory store after its `close()`. */
function closedError(): LeanflowError {
  return new LeanflowError(
    'STORE_UNAVAILABLE',
    'The memory store is closed (close() was called): create a new one with createMemoryStreamStore(), and close it only once you are done with it.',
  )
}

/** The error of an append whose fence no longer holds its token (nothing was written). */
function fenced(runId: string, key: string): NonRetriableError {
  return new NonRetriableError(
    `Append to run "${runId}" refused: its fence "${key}" no longer holds this token (the step's lease was taken over or the run ended); nothing was written.`,
  )
}

/** The error of an append whose `after` key is not stored yet (nothing was written). */
function notAfter(runId: string, kind: string, after: string): LeanflowError {
  return new LeanflowError(
    'INVALID_ARGUMENT',
    `Append of "${kind}" to run "${runId}" refused: it must come after the append with idempotency key "${after}", which is not stored; append that one first. Nothing was written.`,
  )
}
