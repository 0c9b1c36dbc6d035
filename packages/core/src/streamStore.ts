import type { EventRecord, NewEvent } from './events.js'

/** Status of a run, as the reducer and the run index see it. */
export type RunStatus = 'pending' | 'running' | 'awaiting' | 'completed' | 'failed' | 'canceled'

/** A run's entry in the run index, kept by the store on `flow.*` events. */
export interface RunSummary {
  runId: string
  /** The flow name. */
  flow: string
  status: RunStatus
  /** ISO 8601 time of `flow.started`. */
  startedAt: string
  /** ISO 8601 time of the terminal event. */
  completedAt?: string
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

/** Options of {@link StreamStore.read}. */
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

/** Options of {@link StreamStore.follow}. */
export interface FollowOptions {
  /** Yield only events after this id (exclusive); all when absent. */
  after?: string | undefined
  /** Ends the iteration (it returns, no throw). */
  signal?: AbortSignal | undefined
}

/** Options of {@link StreamStore.listRuns}. */
export interface ListRunsOptions {
  /** @default 50 */
  limit?: number | undefined
  /** Start time in ms, exclusive: runs started before it. */
  before?: number | undefined
  status?: RunStatus | undefined
}

/**
 * The event log port: one append-only stream per run. Implemented by
 * `createMemoryStreamStore()` (core) and `createRedisStreamStore()` (`@leanflow/redis`);
 * both pass one conformance suite.
 */
export interface StreamStore {
  /** Atomically stores and publishes the event; returns it with `id` and `ts`. */
  append(runId: string, event: NewEvent, opts?: AppendOptions): Promise<EventRecord>
  /** At most `limit` events, oldest first unless `direction: 'backward'`. */
  read(runId: string, opts?: ReadOptions): Promise<EventRecord[]>
  /** Every event after `after`, then the live ones, in id order, no gap, no duplicate. */
  follow(runId: string, opts?: FollowOptions): AsyncIterable<EventRecord>
  /** Runs of a flow, newest first. */
  listRuns(flowName: string, opts?: ListRunsOptions): Promise<RunSummary[]>
  /** Flows with their number of runs. */
  listFlows(): Promise<Array<{ flow: string; runs: number }>>
  close(): Promise<void>
}

/** Defaults shared by every store. */
export const STORE_DEFAULTS = {
  maxEventBytes: 1024 * 1024,
  maxEventsPerRun: 100_000,
  retentionMs: 7 * 24 * 60 * 60 * 1000,
  readLimit: 1000,
  listLimit: 50,
} as const
