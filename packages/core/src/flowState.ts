import type { AwaitType, LogLevel, QueueReason } from './events.js'
import { emptyParts, FlowStateObject } from './internal/reduceParts.js'
import type { RunStatus } from './streamStore.js'

/**
 * Status of one step: `pending` (declared, not started), `queued` (waits
 * for a slot of its step-level concurrency limit), `running`, `awaiting`
 * (while any of its awaits is pending), `retrying` (failed, a retry is scheduled),
 * `completed`, `failed` (for good), `canceled` (the run ended — completed,
 * failed or canceled — before the step did: an ended run never shows a live
 * step).
 *
 * @example
 * ```ts
 * const done = Object.values(state.steps).filter((s) => s.status === 'completed').length
 * ```
 */
export type StepStatus = 'pending' | 'queued' | 'running' | 'awaiting' | 'retrying' | 'completed' | 'failed' | 'canceled'

/**
 * One await of a suspended step, from its `step.await.*` event. It is pending until the
 * `step.resumed` or `step.await.timeout` of the same `position` (of any position when that event
 * has none, as in logs written before parallel awaits), or until the step completes, fails,
 * retries, is queued or starts again.
 *
 * @example
 * ```ts
 * const a: StepAwait = { type: 'trigger', until: '2026-12-05T10:00:00.000Z', triggerId: 'V1StGXR8Z5jdHi6BmyT', triggerType: 'webhook', position: 1 }
 * const b: StepAwait = { type: 'run', childRunId: 'V1StGXR8Z5jdHi6BmyU', flow: 'invoice', position: 2 }
 * ```
 */
export interface StepAwait {
  readonly type: AwaitType
  /** `time`: when it resumes (`resumeAt`); `event`/`trigger`/`run`: when it times out (`timeoutAt`), if it does. */
  readonly until?: string
  /** `event`: the external event kind awaited. */
  readonly eventKind?: string
  /** `trigger`: the trigger id to resolve. */
  readonly triggerId?: string
  /** `trigger`: the free label given to `ctx.await.trigger({ type })`. */
  readonly triggerType?: string
  /** `run`: the child run's id (`ctx.invoke`). */
  readonly childRunId?: string
  /** `run`: the child run's flow name. */
  readonly flow?: string
  /** `data.position`: the await's call position in its step; absent in logs written before parallel awaits. */
  readonly position?: number
}

/**
 * Why a run (or a step) waits for admission, from its last `flow.queued` (or `step.queued`).
 * The run's `until` is updated by `flow.debounced`; the run's is gone when the run leaves
 * `queued` (at its next `step.started`, or its end), the step's when the step leaves `queued`.
 *
 * @example
 * ```ts
 * const q: QueueWait = { reason: 'rateLimit', key: 'api-key-1', until: '2026-12-05T10:00:01.000Z' }
 * ```
 */
export interface QueueWait {
  /** `data.reason`, as text (a step waits only for `concurrency`). */
  readonly reason: QueueReason
  /** The limit's key (`data.key`), when the limit has one. */
  readonly key?: string
  /** Run only: ISO time the run is due at the earliest (`data.until`; a rate limit's window, a debounce's period). */
  readonly until?: string
}

/**
 * One step of a run, as the reducer sees it. Optional fields are absent
 * (no key) until an event sets them, so a state survives a JSON round trip.
 *
 * @example
 * ```ts
 * const s: StepState = { name: 'charge', status: 'retrying', attempt: 1, needs: [],
 *   startedAt: '2026-11-28T10:00:00.000Z', error: 'card declined', nextRetryAt: '2026-11-28T10:00:01.000Z' }
 * ```
 */
export interface StepState {
  readonly name: string
  readonly status: StepStatus
  /** The current attempt, 1-based (`meta.attempt` of its events); 0 before the first `step.started`. */
  readonly attempt: number
  /** The steps it needs, from `flow.started`'s `data.steps`. */
  readonly needs?: readonly string[]
  /** `data.input` of its last `step.started`, when present. */
  readonly input?: unknown
  /** Time (`ts`) of its first `step.started`. */
  readonly startedAt?: string
  /** Time of `step.completed`, or of `step.failed` for good. */
  readonly completedAt?: string
  /** `data.duration` (ms) of `step.completed`. */
  readonly duration?: number
  /** `data.result` of `step.completed`. */
  readonly result?: unknown
  /** `data.error` of its last `step.failed` (a message); cleared when it starts again or completes. */
  readonly error?: string
  /** When a `retrying` step runs again (`data.nextRetryAt`, else `ts + delayMs` of `step.retry`). */
  readonly nextRetryAt?: string
  /** What it waits for while `awaiting`: the most recently announced of its `pending` awaits. */
  readonly awaiting?: StepAwait
  /**
   * Every await of the step still pending, in the order they were announced, while `awaiting`
   * (several with `Promise.all` / `Promise.race` over `ctx.await.*` and `ctx.invoke`). The step
   * stays `awaiting` while any is pending: a `step.resumed` of one of them leaves it awaiting on
   * the rest.
   */
  readonly pending?: readonly StepAwait[]
  /** Why it waits while `queued`: `data.reason` and `data.key` of `step.queued`. */
  readonly queued?: Pick<QueueWait, 'reason' | 'key'>
  /**
   * How many times a worker took the step over after the one running it died (`step.started`
   * with `data.recovered: true`): code outside `ctx.do` in that attempt may have run again.
   */
  readonly recoveries?: number
  /** `true` when its `step.completed` was copied by `runner.rerun` from the run this one reruns (`data.copied`): it did not run in this run. */
  readonly copied?: true
}

/**
 * One `log` event of a run.
 *
 * @example
 * ```ts
 * const e: LogEntry = { id: '1700000000000-3', ts: '2023-11-14T22:13:20.000Z', step: 'charge', level: 'info', msg: 'charged', fields: { amount: 42 } }
 * ```
 */
export interface LogEntry {
  /** The event id. */
  readonly id: string
  readonly ts: string
  /** The step that logged, absent for run-scoped logs. */
  readonly step?: string
  /** `data.level`; anything else than the four levels reads as `info`. */
  readonly level: LogLevel
  readonly msg: string
  readonly fields?: Readonly<Record<string, unknown>>
}

/**
 * The state of one run, folded from its events by {@link reduceFlow} or
 * {@link applyEvent}. Treat it as read-only: states share structure (an
 * unchanged step is the same object in the next state).
 *
 * `steps` and `state` are null-prototype objects, so keys such as
 * `__proto__` are plain keys. `state` and `logs` are computed on first read
 * (own enumerable getters, cached): folding a `log` or `state.set` event
 * costs O(1) instead of a copy of the whole list, and an older state never
 * shows newer entries. `JSON.stringify`, spreading and `structuredClone`
 * read them like data.
 *
 * @example
 * ```ts
 * const s: FlowState = reduceFlow(await store.read(runId))
 * if (s.status === 'awaiting') console.log(Object.values(s.steps).filter((x) => x.awaiting))
 * ```
 */
export interface FlowState {
  /** The run id (the `flow` field of its events). */
  readonly runId?: string
  /** The flow name, from `flow.started`. */
  readonly name?: string
  /**
   * `pending` before `flow.started`; then `running`, or `awaiting` while at
   * least one step awaits and none is running, retrying or queued; `queued`
   * from a `flow.queued` to the run's next `step.started`; `completed`,
   * `failed` and `canceled` stick once reached.
   */
  readonly status: RunStatus
  /** Why the run waits for admission, while `queued`. */
  readonly queued?: QueueWait
  /** `data.input` of `flow.started`, replaced by each `flow.debounced` while the run is queued. */
  readonly input?: unknown
  /** Time (`ts`) of `flow.started`. */
  readonly startedAt?: string
  /** `data.schedule` of `flow.started`: the schedule whose tick started the run, and the tick (ISO). */
  readonly schedule?: { readonly id: string; readonly tick: string }
  /** `data.parent` of `flow.started`: the run and step whose `ctx.invoke` started this run. */
  readonly parent?: { readonly runId: string; readonly step: string }
  /** `data.version` of `flow.started`: the flow version the run is pinned to (absent in runs written before versions: they ran as version 1). */
  readonly version?: number
  /** `data.rerunOf` of `flow.started`: the run this one reruns (`runner.rerun`), and the step it reran from (absent: every step ran again). */
  readonly rerunOf?: { readonly runId: string; readonly from?: string }
  /** The number of child runs it invoked (its `step.await.run` events); absent while none. */
  readonly children?: number
  /** Time of the terminal event. */
  readonly completedAt?: string
  /** `data.duration` (ms) of `flow.completed` or `flow.failed`. */
  readonly duration?: number
  /** `data.result` of `flow.completed`. */
  readonly result?: unknown
  /** `data.error` of `flow.failed`. */
  readonly error?: string
  /** `data.reason` of `flow.canceled`. */
  readonly cancelReason?: string
  /** One entry per step declared in `flow.started` and per other step name seen. */
  readonly steps: Readonly<Record<string, StepState>>
  /** The run's user state: the last `state.set` value of each key. */
  readonly state: Readonly<Record<string, unknown>>
  /** The `log` events, in id order. */
  readonly logs: readonly LogEntry[]
  /** The id of the last event folded in; absent before the first. */
  readonly lastEventId?: string
}

/**
 * The state before any event: status `pending`, no steps, no state, no logs.
 * The starting point of a live fold with {@link applyEvent}.
 *
 * @example
 * ```ts
 * let state = emptyFlowState()
 * for await (const e of store.follow(runId)) state = applyEvent(state, e)
 * ```
 */
export function emptyFlowState(): FlowState {
  return new FlowStateObject(emptyParts(), undefined)
}
