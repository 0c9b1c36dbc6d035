import type { EventRecord, NewEvent } from './events.js'

/**
 * Status of a run, as the reducer gives it. The run index keeps every status of a started run
 * (`queued`, `running`, `awaiting`, `completed`, `failed`, `canceled`); `pending` (no
 * `flow.started` yet) is never listed. `queued`: waiting for admission (`flow.queued`) until its
 * first `step.started`.
 *
 * @example
 * ```ts
 * const waiting = await store.listRuns('order', { status: 'awaiting' })
 * ```
 */
export type RunStatus = 'pending' | 'queued' | 'running' | 'awaiting' | 'completed' | 'failed' | 'canceled'

/**
 * A run's entry in the run index, kept by the store as each event changes the run's status.
 *
 * @example
 * ```ts
 * const [latest] = await store.listRuns('order', { limit: 1 }) // { runId, flow: 'order', status: 'awaiting', startedAt, children: 2 }
 * ```
 */
export interface RunSummary {
  runId: string
  /** The flow name. */
  flow: string
  status: RunStatus
  /** ISO 8601 time of `flow.started`. */
  startedAt: string
  /** ISO 8601 time of the terminal event. */
  completedAt?: string
  /** The run and step whose `ctx.invoke` started this run (`data.parent` of its `flow.started`). */
  parent?: { runId: string; step: string }
  /** The flow version the run is pinned to (`data.version` of its `flow.started`); absent when that has none (a run started before versions, which ran as version 1). */
  version?: number
  /** The number of child runs it invoked (its `step.await.run` events); absent while none. */
  children?: number
}

/**
 * A fence of {@link AppendOptions}: the append is stored only while the run's fence `key` holds
 * `token`. Fences are set atomically with the run's state document
 * (`RunStateStore.casRunState(…, { fences })`) on a store that implements both ports; the runner
 * fences a step's `log`, `emit` and `state.set` appends with the step's lease.
 *
 * @example
 * ```ts
 * await store.append(runId, { kind: 'log', flow: runId, step: 'charge', data }, { fence: { key: 'charge', token: lease } })
 * ```
 */
export interface AppendFence {
  /** The fence's name within the run (the runner: a step name). */
  key: string
  /** The token the fence must hold now (the runner: the execution's lease). */
  token: string
}

/** Options of {@link StreamStore.append}. */
export interface AppendOptions {
  /** A repeated append with the same key returns the first record and stores nothing. */
  idempotencyKey?: string | undefined
  /**
   * Store the event only if the run's fence `fence.key` holds `fence.token`, checked in the same
   * atomic step as the write; otherwise nothing is written and the append throws
   * `NonRetriableError` (code `NON_RETRIABLE`: the same append can never succeed). A repeated
   * `idempotencyKey` still returns the first record. Needs a store that also implements
   * `RunStateStore` (both built-in stores do).
   */
  fence?: AppendFence | undefined
  /**
   * The idempotency key of an append of the same run that must already be stored, checked in
   * the same atomic step as the write; otherwise nothing is written and the append throws
   * `LeanflowError` code `INVALID_ARGUMENT` (append that one first). Lets a caller pipeline two
   * appends that must be stored in order, the second never without the first (the runner:
   * `step.started` of the next step behind the `step.completed` it follows).
   */
  after?: string | undefined
}

/**
 * One event of {@link StreamStore.appendMany}, with its own idempotency key (as
 * `AppendOptions.idempotencyKey`).
 *
 * @example
 * ```ts
 * const item: BatchAppend = { event: { kind: 'user.tick', flow: 'r1', data: 1 }, idempotencyKey: 'tick-1' }
 * ```
 */
export interface BatchAppend {
  event: NewEvent
  idempotencyKey?: string | undefined
}

/**
 * Options of {@link StreamStore.appendMany}: the `fence` and `after` of `AppendOptions`,
 * checked once for the whole batch.
 *
 * @example
 * ```ts
 * await store.appendMany(runId, items, { after: 'step.started:charge:1' })
 * ```
 */
export type AppendManyOptions = Pick<AppendOptions, 'fence' | 'after'>

/**
 * Options of {@link StreamStore.read}. `after` and `before` are stream ids `"<ms>-<seq>"`, each
 * part at most 2^64 - 1: `0-0` and `18446744073709551615-18446744073709551615` are valid bounds
 * (nothing is before the first or after the last, so they give an empty page); a malformed id
 * or a part over 2^64 - 1 throws `INVALID_ARGUMENT`.
 *
 * @example
 * ```ts
 * const page = await store.read('r1', { after: lastSeenId, limit: 100 })
 * const lastTen = await store.read('r1', { direction: 'backward', limit: 10 })
 * ```
 */
export interface ReadOptions {
  /** Exclusive lower id. */
  after?: string | undefined
  /** Exclusive upper id. */
  before?: string | undefined
  /** @default 1000 */
  limit?: number | undefined
  /** @default 'forward' */
  direction?: 'forward' | 'backward' | undefined
}

/**
 * Options of {@link StreamStore.follow}.
 *
 * @example
 * ```ts
 * for await (const e of store.follow('r1', { after: lastSeenId, signal })) render(e)
 * ```
 */
export interface FollowOptions {
  /**
   * Yield only events after this id (exclusive); all when absent. An id of the run's log (or
   * `0-0`) resumes there. An id past the run's last event is no position of this run (an id of
   * another run, or of writes a store lost in a failover or restore), and nothing after the
   * largest id can ever come: the iteration throws `HISTORY_GONE` at once, as for a position
   * retention removed, so the reader starts over instead of waiting forever or missing events.
   * A malformed id, or a part over 2^64 - 1, throws `INVALID_ARGUMENT`.
   */
  after?: string | undefined
  /** Ends the iteration (it returns, no throw). */
  signal?: AbortSignal | undefined
}

/**
 * A flow's runs counted per status ({@link StreamStore.countRuns}): `runs` is all of them, as
 * `listFlows` counts them; `statuses` has every status (`pending` is always 0: a counted run has
 * started). A run whose status is changing may be counted under its previous one for a moment.
 *
 * @example
 * ```ts
 * const { runs, statuses } = await store.countRuns!('order') // { runs: 12, statuses: { running: 2, completed: 9, failed: 1, … } }
 * ```
 */
export interface RunCounts {
  runs: number
  statuses: Record<RunStatus, number>
}

/**
 * Options of {@link StreamStore.listRuns}. `before` is a time, not a cursor: paging by the last
 * run's start skips the other runs started in that same millisecond (a burst of starts shares
 * a few). To list every run, page over HTTP (`GET /:flow/runs`, whose `next` loses none), or
 * ask again from that millisecond and drop the runs already seen (runs of one millisecond come
 * by run id, descending), as below.
 *
 * @example
 * ```ts
 * const page1 = await store.listRuns('order', { status: 'awaiting', limit: 20 })
 * const last = page1.at(-1)!
 * const ms = Date.parse(last.startedAt)
 * const page2 = (await store.listRuns('order', { status: 'awaiting', limit: 40, before: ms + 1 }))
 *   .filter((r) => Date.parse(r.startedAt) < ms || r.runId < last.runId) // more than 20 runs in one ms: a larger limit
 * ```
 */
export interface ListRunsOptions {
  /** @default 50 */
  limit?: number | undefined
  /** Start time in ms, exclusive: runs started before it. */
  before?: number | undefined
  /**
   * Only runs with this status now, as the reducer gives it (`queued` from `flow.queued` to the
   * first `step.started`; `awaiting` while a step awaits and none runs, retries or is queued). Read from a per-status index: a page costs the same however many runs
   * of other statuses the flow has. `pending` lists nothing (a listed run has started).
   */
  status?: RunStatus | undefined
}

/**
 * The event log port: one append-only stream per run. Implemented by
 * `createMemoryStreamStore()` (core) and `createRedisStreamStore()` (`@leanflow/redis`);
 * both pass one conformance suite.
 *
 * @example
 * ```ts
 * const e = await store.append('r1', { kind: 'user.hello', flow: 'r1', data: { hi: 1 } })
 * const events = await store.read('r1', { after: '0-0' })
 * for await (const ev of store.follow('r1', { after: e.id, signal })) console.log(ev.kind)
 * const awaiting = await store.listRuns('order', { status: 'awaiting' })
 * ```
 */
export interface StreamStore {
  /** Atomically stores and publishes the event; returns it with `id` and `ts`. */
  append(runId: string, event: NewEvent, opts?: AppendOptions): Promise<EventRecord>
  /**
   * Stores `items` in order in one atomic step, each as `append` would (an event whose
   * idempotency key is stored already, or earlier in the batch, is not stored again: its first
   * record comes back, marked as `append` marks it), and returns their records in order. `fence`,
   * `after` and the run's length (`RUN_TOO_LONG` when the new events do not all fit) are checked
   * once, before anything is written: either every new event is stored, or none, with the error
   * `append` would throw. Every event is validated first (a bad one throws and nothing is
   * written). Optional for other stores (callers fall back to `append` one by one); the stores of
   * leanflow have it — the runner announces a 1,000-way fan-out in a few calls.
   *
   * @example
   * ```ts
   * const [a, b] = await store.appendMany('r1', [
   *   { event: { kind: 'user.a', flow: 'r1', data: 1 }, idempotencyKey: 'a' },
   *   { event: { kind: 'user.b', flow: 'r1', data: 2 }, idempotencyKey: 'b' },
   * ])
   * ```
   */
  appendMany?(runId: string, items: readonly BatchAppend[], opts?: AppendManyOptions): Promise<EventRecord[]>
  /**
   * At most `limit` events, oldest first unless `direction: 'backward'`; `[]` for an unknown run
   * and for bounds that leave nothing (`before: '0-0'`, `after` the largest id). See {@link ReadOptions}.
   */
  read(runId: string, opts?: ReadOptions): Promise<EventRecord[]>
  /**
   * Every event after `after`, then the live ones, in id order, no gap, no duplicate.
   * `HISTORY_GONE` when `after` is in a run retention removed, or past the run's last event
   * (see {@link FollowOptions.after}).
   */
  follow(runId: string, opts?: FollowOptions): AsyncIterable<EventRecord>
  /** Runs of a flow, newest first; with `status`, only the runs that have it now. */
  listRuns(flowName: string, opts?: ListRunsOptions): Promise<RunSummary[]>
  /** Flows with their number of runs. */
  listFlows(): Promise<Array<{ flow: string; runs: number }>>
  /**
   * A flow's runs counted per status, from the run index (no run is read): what a dashboard shows
   * per flow. Optional for other stores; both stores of leanflow have it. See {@link RunCounts}.
   */
  countRuns?(flowName: string): Promise<RunCounts>
  /**
   * Where run `runId` ended: the id and kind of its terminal event, the first
   * `flow.completed|failed|canceled` of its log (events may follow it: a step that completed
   * after a cancel), read from the run's summary, not its log; `undefined` while the run has not
   * ended, and for a run the store does not have. The HTTP handler reads it to answer a stream's
   * reconnect at or past the end with 204. Optional for other stores (the handler then looks for
   * the end among the run's last events); both stores of leanflow have it.
   *
   * @example
   * ```ts
   * const end = await store.runEnd?.('r1') // { id: '1764340000125-0', kind: 'flow.canceled' }, or undefined while it runs
   * ```
   */
  runEnd?(runId: string): Promise<{ id: string; kind: 'flow.completed' | 'flow.failed' | 'flow.canceled' } | undefined>
  /**
   * The largest event this store takes, in UTF-8 bytes of its JSON (its `maxEventBytes` option);
   * `append` refuses a larger one with `PAYLOAD_TOO_LARGE`. The runner reads it to refuse a step
   * result, or an external event, before it changes any state (default when absent:
   * `STORE_DEFAULTS.maxEventBytes`). Both stores of leanflow have it.
   */
  readonly maxEventBytes?: number | undefined
  /**
   * Names the runs this store holds, the same in every process of one app and different for
   * another app's store (the Redis store: `redis:<prefix>`). The runner stamps it into each job it
   * queues; a worker over another store that takes one (two apps sharing one BullMQ queue) reports
   * it to `onError` and hands the job back, instead of finding no run and dropping it. Optional:
   * without it jobs carry no stamp and its workers take any job (the memory store has none). A
   * wrapper of a store should keep it.
   *
   * @example
   * ```ts
   * createRedisStreamStore({ url, prefix: 'shop' }).storeId // 'redis:shop'
   * ```
   */
  readonly storeId?: string | undefined
  close(): Promise<void>
}

// Literals, not `1024 * 1024`: bundlers keep a module-level constant computed with an operator
// even when nothing uses it (esbuild does), so a browser bundle of the reducer would carry it.
/** Defaults shared by every store. */
export const STORE_DEFAULTS = {
  /** 1 MiB. */
  maxEventBytes: 1_048_576 as number,
  maxEventsPerRun: 100_000,
  /** 7 days. */
  retentionMs: 604_800_000 as number,
  readLimit: 1000,
  listLimit: 50,
} as const

/**
 * How many events past `maxEventsPerRun` a run still takes of the kinds that end an attempt or a
 * run for good (`step.failed`, `flow.completed`, `flow.failed`, `flow.canceled`): a run that
 * reached its limit can still record what ends it, instead of running for good. `append` and
 * `appendMany` alike (a batch is taken when its events, appended one by one, would all be).
 */
export const CLOSING_EVENTS_RESERVE = 64

/**
 * The most events a run may hold when `kind` is appended: `maxEventsPerRun`, or that plus
 * {@link CLOSING_EVENTS_RESERVE} for `step.failed`, `flow.completed`, `flow.failed` and
 * `flow.canceled`. For store implementations (every store of leanflow applies it, to each new
 * event of an `appendMany` batch as well, counting the new ones before it; the conformance suite
 * checks it).
 *
 * @example
 * ```ts
 * if (held >= maxEventsFor(event.kind, maxEventsPerRun)) throw new LeanflowError('RUN_TOO_LONG', '…')
 * ```
 */
export function maxEventsFor(kind: string, maxEventsPerRun: number): number {
  return kind === 'step.failed' || kind === 'flow.completed' || kind === 'flow.failed' || kind === 'flow.canceled'
    ? maxEventsPerRun + CLOSING_EVENTS_RESERVE
    : maxEventsPerRun
}

const REPEATED = Symbol.for('leanflow.repeatedAppend')

/**
 * Marks a record an append answered without storing anything (a repeat of its idempotency key:
 * the first record). For store implementations; the mark is a non-enumerable symbol, so the
 * record's JSON and equality are unchanged.
 *
 * @example
 * ```ts
 * if (first !== undefined) return markRepeatedAppend(JSON.parse(first) as EventRecord)
 * ```
 */
export function markRepeatedAppend<T extends EventRecord>(record: T): T {
  Object.defineProperty(record, REPEATED, { value: true })
  return record
}

/**
 * True when `append` answered with the first record of its idempotency key and stored nothing
 * (a crash's retry, two workers racing): the runner's observers are told only of new records.
 *
 * @example
 * ```ts
 * const e = await store.append(runId, event, { idempotencyKey: 'k' })
 * if (!isRepeatedAppend(e)) audit(e)
 * ```
 */
export function isRepeatedAppend(record: EventRecord): boolean {
  return (record as unknown as Record<symbol, unknown>)[REPEATED] === true
}
