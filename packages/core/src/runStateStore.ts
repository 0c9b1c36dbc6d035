import type { EventRecord, ExternalEvent, NewEvent } from './events.js'

/**
 * One run's state document with its version (`getRunState`). The runner owns the shape of
 * `doc` (step readiness, leases, recorded results, awaits, triggers); the
 * store only keeps it and guards every change with a compare-and-set on
 * `version` in the run's own slot.
 *
 * @example
 * ```ts
 * const rec = await store.getRunState<{ status: string }>('r1') // { version: 4, doc: { status: 'running', … } } or null
 * ```
 */
export interface RunStateRecord<T = unknown> {
  /** 1 after the first write; every successful {@link RunStateStore.casRunState} adds 1. */
  version: number
  doc: T
}

/**
 * Options of {@link RunStateStore.casRunState}.
 *
 * @example
 * ```ts
 * await store.casRunState(runId, version, doc, { finished: true }) // kept for the retention, then dropped
 * ```
 */
export interface CasRunStateOptions {
  /**
   * The run has ended: the store keeps the document for its retention
   * (the same as the run's events), then drops it.
   */
  finished?: boolean
  /**
   * The run's fences after this write (fence name → token), replacing the stored ones in the
   * same atomic step as the document; absent: unchanged. Appends with `{ fence: { key, token } }`
   * are stored only while `fences[key] === token` (the runner: step → lease of the execution
   * that holds it).
   */
  fences?: Record<string, string>
  /**
   * `JSON.stringify(doc)`, when the caller has it already: the store writes it instead of
   * serializing `doc` again (a run document with 1,000 awaits is some 200 KB). It must be exactly
   * that string.
   */
  json?: string
}

/**
 * What {@link RunStateStore.casRunState} answers.
 *
 * @example
 * ```ts
 * const res = await store.casRunState('r1', 3, doc)
 * if (!res.ok) console.log('now at version', res.current?.version)
 * ```
 */
export type CasRunStateResult<T = unknown> = { ok: true; version: number } | { ok: false; current: RunStateRecord<T> | null }

/**
 * Options of {@link RunStateStore.createRun}.
 *
 * @example
 * ```ts
 * await store.createRun(runId, doc, started, { idempotencyKey: 'flow.started', fences: {} })
 * ```
 */
export interface CreateRunOptions {
  /** The idempotency key of the first event (a repeated create returns the event stored under it). */
  idempotencyKey: string
  /** The run's fences after the write, as {@link CasRunStateOptions.fences}. */
  fences?: Record<string, string>
}

/**
 * What {@link RunStateStore.createRun} answers: `created` with the stored first event, or the
 * run as it already was (its state, `null` if it has none, and the event stored under the
 * idempotency key, `null` if none) with nothing written.
 *
 * @example
 * ```ts
 * const res = await store.createRun(runId, doc, started, { idempotencyKey: 'flow.started' })
 * if (!res.created) console.log('run existed at version', res.current?.version)
 * ```
 */
export type CreateRunResult<T = unknown> =
  | { created: true; version: number; record: EventRecord }
  | { created: false; current: RunStateRecord<T> | null; record: EventRecord | null }

/**
 * An external event as stored: the record plus its global position.
 *
 * @example
 * ```ts
 * const e = await store.publishExternal('payment.confirmed', { orderId: 'o-1' }) // { id, ts, kind, data, seq }
 * ```
 */
export interface StoredExternalEvent<D = unknown> extends ExternalEvent<D> {
  /** Global sequence number over all kinds; 1 for the first event ever published. */
  seq: number
}

/**
 * What {@link RunStateStore.putChildOutcome} answers. `tell`: no one is on the way to fold the
 * parent's outbox into its document, so the caller must (`takeChildOutcomes`, one
 * compare-and-set of the parent, then `dropChildOutcomes`); `sinceTakeMs` is how long ago the
 * parent's outbox was last taken (absent: never), so a caller may wait a little and carry more
 * outcomes in one write. `tell: false`: a fold is on its way and will carry this outcome, or the
 * parent has no document (it never existed, or it expired).
 *
 * @example
 * ```ts
 * const put = await store.putChildOutcome?.(parentId, childId, { status: 'completed', result: 42 }) // { tell: true }
 * ```
 */
export type PutChildOutcomeResult = { tell: false } | { tell: true; sinceTakeMs?: number; taken?: ChildOutcomeEntry[] }

/**
 * Options of {@link RunStateStore.putChildOutcome}.
 *
 * @example
 * ```ts
 * const put = await store.putChildOutcome!(parentId, childId, outcome, { take: true }) // { tell: true, taken: [...] }
 * ```
 */
export interface PutChildOutcomeOptions {
  /**
   * When the put tells, also take the outbox in the same atomic step (as
   * {@link RunStateStore.takeChildOutcomes}) and answer its outcomes as `taken`: one round trip
   * for a caller that folds at once (a lone child's end).
   */
  take?: boolean
}

/**
 * One child's outcome as {@link RunStateStore.takeChildOutcomes} returns it.
 *
 * @example
 * ```ts
 * const taken: ChildOutcomeEntry[] = await store.takeChildOutcomes!(parentId) // [{ childRunId: 'c1', outcome: { status: 'completed', result: 42 } }]
 * ```
 */
export interface ChildOutcomeEntry {
  childRunId: string
  outcome: unknown
}

/**
 * Lookup namespaces of {@link RunStateStore.putLookup}: trigger id → run id, start idempotency key → run id.
 *
 * @example
 * ```ts
 * await store.putLookup('trigger', triggerId, runId, ttlMs)
 * ```
 */
export type LookupNamespace = 'trigger' | 'start'

/**
 * The runner's records beyond the event log, implemented by both stores
 * (`createMemoryStreamStore()`, `createRedisStreamStore()`). Every change of
 * a run is one atomic compare-and-set of its document in the run's slot; a
 * trigger id maps to its run through a lookup key in its own slot; external
 * events carry a global sequence number so "after the run started" is a
 * position, not a clock comparison.
 *
 * @example
 * ```ts
 * const cur = await store.getRunState('r1')
 * const res = await store.casRunState('r1', cur?.version ?? 0, next)
 * if (!res.ok) retryWith(res.current)
 * ```
 */
export interface RunStateStore {
  /** The store's clock in ms (Redis `TIME`; the memory store's injectable clock). Deadlines use it, never a worker's. */
  now(): Promise<number>
  /** The run's document, or `null` when it never existed or expired. */
  getRunState<T = unknown>(runId: string): Promise<RunStateRecord<T> | null>
  /**
   * Writes `doc` when the stored version equals `expectedVersion` (0: only
   * when no document exists); otherwise changes nothing and returns the current record.
   */
  casRunState<T = unknown>(runId: string, expectedVersion: number, doc: T, opts?: CasRunStateOptions): Promise<CasRunStateResult<T>>
  /**
   * Creates a run all or nothing: when the run has no state document and no event stored under
   * `opts.idempotencyKey`, stores `doc` (version 1) and appends `first` (the run's
   * `flow.started`: indexed, published live, like any append) in one atomic step; otherwise
   * writes nothing and answers what is there. A refused write (a store at `maxmemory`, an
   * event over the size limit) leaves neither.
   */
  createRun<T = unknown>(runId: string, doc: T, first: NewEvent, opts: CreateRunOptions): Promise<CreateRunResult<T>>
  /**
   * Sets `key` to `value` in `namespace` unless it is already set; returns
   * the stored value (the first one wins). `ttlMs` bounds its life.
   */
  putLookup(namespace: LookupNamespace, key: string, value: string, ttlMs?: number): Promise<string>
  /** The value of a lookup key, or `null`. */
  getLookup(namespace: LookupNamespace, key: string): Promise<string | null>
  /**
   * The run a lookup maps to is ending (its terminal write comes next): the lookup now expires
   * `retention` from now on the store's clock, so it goes no later than the run's own keys
   * (they expire `retention` after that terminal write); an absent lookup stays absent. The
   * runner calls it for a run's `startFlow` idempotency key; a store without it keeps such a
   * key for the `ttlMs` it was put with.
   *
   * @example
   * ```ts
   * await store.retireLookup?.('start', 'order/o-1') // the run of that key is about to end
   * ```
   */
  retireLookup?(namespace: LookupNamespace, key: string): Promise<void>
  /**
   * Stores an external event (it belongs to no run) with the next global
   * sequence number. With an `idempotencyKey`, a repeat returns the first record (its own kind and
   * data, also when the repeat names another kind: keys are across kinds), storing nothing.
   */
  publishExternal<D = unknown>(kind: string, data: D, opts?: { idempotencyKey?: string }): Promise<StoredExternalEvent<D>>
  /** The sequence number of the latest external event (0 when none): the position a new run records. */
  externalPosition(): Promise<number>
  /** External events of `kind` with `seq > afterSeq`, oldest first. */
  readExternal(kind: string, afterSeq: number): Promise<StoredExternalEvent[]>
  /** Marks `runId` as waiting for events of `kind` (publishers look it up). */
  watchKind(kind: string, runId: string): Promise<void>
  /** Undoes {@link RunStateStore.watchKind}. */
  unwatchKind(kind: string, runId: string): Promise<void>
  /** Runs waiting for events of `kind`. */
  kindWatchers(kind: string): Promise<string[]>
  /**
   * Optional, with {@link RunStateStore.takeChildOutcomes} and
   * {@link RunStateStore.dropChildOutcomes} (all three or none): the parent's **outbox** of child
   * outcomes, in the parent's own slot. Stores child `childRunId`'s `outcome` there (a repeat
   * keeps the first) and answers whether the caller must fold the outbox into the parent's
   * document now (`tell`): the first outcome put after the last take does, and so does a repeat of
   * that same child's put (its caller may have died before folding); the others do not, since a
   * fold is on its way and takes them too. A parent without a document answers `tell: false` and
   * stores nothing. The outbox expires with the parent's run keys: at most `retention` after the
   * last put, sooner when the parent's document expires sooner. Without these methods the runner
   * writes every child's end into the parent's document itself (one compare-and-set per batch of
   * ends, while the child's job waits).
   *
   * @example
   * ```ts
   * const put = await store.putChildOutcome('parent-1', 'child-7', { status: 'completed', result: { total: 3 } })
   * if (put.tell) {
   *   const taken = await store.takeChildOutcomes('parent-1') // every outcome in the outbox
   *   await foldIntoParent(taken) // one compare-and-set of the parent's document
   *   await store.dropChildOutcomes('parent-1', taken.map((t) => t.childRunId))
   * }
   * ```
   */
  putChildOutcome?(parentRunId: string, childRunId: string, outcome: unknown, opts?: PutChildOutcomeOptions): Promise<PutChildOutcomeResult>
  /**
   * Every outcome in the parent's outbox (in no set order), after marking that no fold is on its
   * way any more (the next {@link RunStateStore.putChildOutcome} answers `tell`), in one atomic
   * step. Optional, with `putChildOutcome`.
   */
  takeChildOutcomes?(parentRunId: string): Promise<ChildOutcomeEntry[]>
  /** Removes these children's outcomes from the parent's outbox (once they are in its document). Optional, with `putChildOutcome`. */
  dropChildOutcomes?(parentRunId: string, childRunIds: readonly string[]): Promise<void>
}
