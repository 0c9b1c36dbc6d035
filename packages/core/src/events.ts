/**
 * One entry of a run's append-only log. `id` and `ts` are assigned by the store.
 *
 * @example
 * ```ts
 * const e: EventRecord = { id: '1700000000000-0', ts: '2023-11-14T22:13:20.000Z',
 *   kind: 'step.completed', flow: 'r1', step: 'charge', data: { result: 1, duration: 12 } }
 * ```
 */
export interface EventRecord<D = unknown> {
  /** Assigned by the store: `"<ms>-<seq>"` (a Redis Stream id); total order within a run. */
  id: string
  /** Assigned by the store: ISO 8601. */
  ts: string
  /** A built-in kind (see {@link EVENT_KINDS}) or a user kind such as `payment.confirmed`. */
  kind: string
  /** The run id. */
  flow: string
  /** Step name; absent (no key) for run-scoped events. */
  step?: string
  data: D
  meta?: EventMeta
}

/** Optional metadata of an event. */
export interface EventMeta {
  /** 1-based attempt of the step. */
  attempt?: number
  /** Queue job id that produced the event. */
  jobId?: string
  /**
   * On `flow.started`: the W3C `traceparent` of the span that started the run (`startFlow`
   * inside a span, the HTTP `traceparent` header, or the invoking step's span for a child run).
   */
  traceparent?: string
  [key: string]: unknown
}

/**
 * An event before the store assigns `id` and `ts`. Its optional fields may be given as
 * `undefined` (`step: maybeStep`, also under `exactOptionalPropertyTypes`): the store writes no key
 * for them, so the record read back has none.
 */
export type NewEvent<D = unknown> = Omit<EventRecord<D>, 'id' | 'ts' | 'step' | 'meta'> & {
  step?: string | undefined
  meta?: EventMeta | undefined
}

/**
 * An event published from outside any run (`runner.publishEvent`, `POST /events`),
 * the value `ctx.await.event` resolves to.
 */
export interface ExternalEvent<D = unknown> {
  id: string
  ts: string
  kind: string
  data: D
}

/**
 * The built-in event kinds, by name.
 *
 * @example
 * ```ts
 * if (e.kind === EVENT_KINDS.flowCompleted) done()
 * ```
 */
export const EVENT_KINDS = {
  flowStarted: 'flow.started',
  flowCompleted: 'flow.completed',
  flowFailed: 'flow.failed',
  flowCanceled: 'flow.canceled',
  flowQueued: 'flow.queued',
  flowDebounced: 'flow.debounced',
  stepQueued: 'step.queued',
  stepStarted: 'step.started',
  stepCompleted: 'step.completed',
  stepFailed: 'step.failed',
  stepRetry: 'step.retry',
  stepAwaitTime: 'step.await.time',
  stepAwaitEvent: 'step.await.event',
  stepAwaitTrigger: 'step.await.trigger',
  stepAwaitRun: 'step.await.run',
  stepResumed: 'step.resumed',
  stepAwaitTimeout: 'step.await.timeout',
  log: 'log',
  stateSet: 'state.set',
} as const

/** A built-in event kind. */
export type BuiltinKind = (typeof EVENT_KINDS)[keyof typeof EVENT_KINDS]

/**
 * True for a built-in kind (`EVENT_KINDS`: `flow.*`, `step.*`, `log`, `state.set`): the runner's
 * own, which `ctx.emit` and a transport's ingress events may not use.
 *
 * @example
 * ```ts
 * isBuiltinKind('flow.completed') // true
 * isBuiltinKind('order.shipped')  // false
 * ```
 */
export function isBuiltinKind(kind: string): kind is BuiltinKind {
  return (Object.values(EVENT_KINDS) as string[]).includes(kind)
}

/** The kinds that end a run. */
export const TERMINAL_KINDS: readonly BuiltinKind[] = ['flow.completed', 'flow.failed', 'flow.canceled']

/**
 * True for `flow.completed`, `flow.failed` and `flow.canceled`.
 *
 * @example
 * ```ts
 * for await (const e of store.follow(runId)) if (isTerminalKind(e.kind)) break
 * ```
 */
export function isTerminalKind(kind: string): boolean {
  return kind === 'flow.completed' || kind === 'flow.failed' || kind === 'flow.canceled'
}

/** What an await waits for: a time, an external event, a trigger, or a child run (`ctx.invoke`). */
export type AwaitType = 'time' | 'event' | 'trigger' | 'run'
/**
 * Why a run waits for admission (`flow.queued`): a concurrency limit is full, a rate limit's
 * window is used up, or a debounce window is open. A step waits only for a concurrency slot.
 */
export type QueueReason = 'concurrency' | 'rateLimit' | 'debounce'
/** Levels of `log` events. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error'

/**
 * The `data` of each built-in kind.
 *
 * `position` (on `step.await.*`, `step.resumed` and `step.await.timeout`): the await's call position
 * in its step. A step may have several awaits pending at once (`Promise.all` / `Promise.race` over
 * `ctx.await.*` and `ctx.invoke`); the position tells which await an event belongs to. Logs
 * written before parallel awaits have none (one await at a time).
 */
export interface EventDataMap {
  /**
   * `schedule`: the run was started by a schedule's tick (`tick`: ISO time the tick was due).
   * `parent`: the run was started by `ctx.invoke` in step `step` of run `runId`.
   */
  'flow.started': {
    name: string
    /** The flow version the run is pinned to (a positive integer; left out by older writers: 1). */
    version?: number
    input: unknown
    steps: Record<string, { needs: string[] }>
    schedule?: { id: string; tick: string }
    parent?: { runId: string; step: string }
    /** `runner.rerun` of run `runId` (from step `from`) started it. */
    rerunOf?: { runId: string; from?: string }
  }
  'flow.completed': { result?: unknown; duration: number }
  'flow.failed': { error: string; duration: number }
  'flow.canceled': { reason?: string }
  /** The run waits for admission; `key`: the limit's key; `until`: ISO time it is due at the earliest (rate limit, debounce). */
  'flow.queued': { reason: QueueReason; key?: string; until?: string }
  /** A later call folded into the queued run: its `input` replaces the run's; `until`: the new ISO due time. */
  'flow.debounced': { input: unknown; until: string }
  /** The step waits for a slot of its step-level concurrency limit (`key`: the limit's key); its `step.started` follows. */
  'step.queued': { reason: 'concurrency'; key?: string }
  /** `recovered: true`: a worker took the step over after the execution running it died (same attempt). */
  'step.started': { input?: unknown; recovered?: true }
  /** `copied: true`: copied by `runner.rerun` from the run it reruns, with that run's result. */
  'step.completed': { result?: unknown; duration: number; copied?: true }
  'step.failed': { error: string; willRetry: boolean; nextRetryAt?: string }
  'step.retry': { reason: string; delayMs: number }
  'step.await.time': { resumeAt: string; position?: number }
  'step.await.event': { eventKind: string; match?: Record<string, unknown>; timeoutAt?: string; position?: number }
  'step.await.trigger': { triggerId: string; triggerType: string; payload?: unknown; timeoutAt?: string; position?: number }
  /** `ctx.invoke`: the step waits for child run `childRunId` of flow `flow` to end (its `flow.started` has `parent`). */
  'step.await.run': { childRunId: string; flow: string; timeoutAt?: string; position?: number }
  'step.resumed': { reason: string; awaitType: AwaitType; awaitDuration: number; position?: number }
  'step.await.timeout': { awaitType: AwaitType; timeoutAt: string; position?: number }
  log: { level: LogLevel; msg: string; fields?: Record<string, unknown> }
  'state.set': { key: string; value: unknown }
}

/** An event of a built-in kind with its typed data. */
export type BuiltinEvent<K extends BuiltinKind = BuiltinKind> = K extends BuiltinKind ? EventRecord<EventDataMap[K]> & { kind: K } : never
