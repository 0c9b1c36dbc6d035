import { type EventMeta, type EventRecord, invalidArgument, LeanflowError } from '@leanflow/core'

/** The `data` of a run's `flow.started` event, as an observer sees it. */
export interface StartedData {
  /** The flow's name. */
  name: string
  /** The flow version the run is pinned to. */
  version?: number
  input: unknown
  steps: Record<string, { needs: string[] }>
  schedule?: { id: string; tick: string }
  /** Set when `ctx.invoke` in step `step` of run `runId` started this run. */
  parent?: { runId: string; step: string }
  /** Set when `runner.rerun` of run `runId` (from step `from`) started this run. */
  rerunOf?: { runId: string; from?: string }
}

/** What {@link RunnerObserver.startMeta} is told about a run about to be written. */
export interface RunStart {
  /** The flow's name. */
  flow: string
  runId: string
  /**
   * The invoking step, for a child run (`ctx.invoke`): its run, name and attempt, and that run's
   * `flow.started` (its meta holds the parent's `traceparent`, when it has one).
   */
  parent?: { runId: string; step: string; attempt: number; started: EventRecord<StartedData> | undefined }
}

/**
 * An attempt a run's end cut off: started, and neither completed nor failed when the run ended
 * (canceled, failed by another step, a cancel cascading from its parent run). No event of its own
 * ends it; the run's terminal event does.
 *
 * @example
 * ```ts
 * const a: OpenAttempt = { step: 'approve', attempt: 1, startedAt: '2026-12-05T10:00:00.000Z', suspended: true }
 * ```
 */
export interface OpenAttempt {
  step: string
  /** 1-based attempt. */
  attempt: number
  /** When the attempt started (ISO, the store's clock). */
  startedAt: string
  /** True when it was suspended on an await, false when it was running. */
  suspended: boolean
  /**
   * The awaits the attempt registered (by call position; `since`: ISO, the store's clock), when it
   * registered any: what its `step.await.*` events said, for an observer that did not see them.
   */
  awaits?: Array<{ type: 'time' | 'event' | 'trigger' | 'run'; position: number; since: string }>
}

/**
 * What the runner knows of an event beyond its record, told to the observers beside it (not stored).
 *
 * @example
 * ```ts
 * runner.observe({ onEvent: (event, _started, info) => info?.open?.forEach((a) => console.log(event.flow, a.step, 'cut off')) })
 * ```
 */
export interface EventInfo {
  /** With a terminal event (`flow.completed`, `flow.failed`, `flow.canceled`): the attempts the end cut off (empty for a completed run). */
  open?: OpenAttempt[]
  /** With `step.failed`: when the failed attempt started (ISO, the store's clock); the event itself carries no duration. */
  attemptStartedAt?: string
}

/**
 * Sees what this runner does, from the events it appends: telemetry, audit, metrics.
 * Registered with `runner.observe(observer)`; an observer costs nothing while none is registered.
 * An observer's throw (or an async observer's rejection) goes to the runner's `onError` and
 * changes nothing else.
 *
 * @example
 * ```ts
 * const stop = runner.observe({
 *   onEvent(event, started) {
 *     console.log(started.data.name, event.flow, event.kind, event.step ?? '')
 *   },
 * })
 * stop() // no more calls
 * ```
 */
export interface RunnerObserver {
  /**
   * Called with each event this process appended, as stored (its `id` and `ts` assigned), and
   * its run's `flow.started` record (the flow's name, the run's start time and meta). A run's
   * events come in the order their appends were acknowledged. An append repeated with the same
   * idempotency key (a crash, a race of two workers) stored nothing and is not reported. `info`
   * comes with a terminal event (`open`: the attempts the end cut off, wherever they ran) and with
   * `step.failed` (`attemptStartedAt`).
   */
  onEvent?(event: EventRecord, started: EventRecord<StartedData>, info?: EventInfo): void
  /**
   * Called synchronously when `startFlow` (or `ctx.invoke`) is about to write a new run: the
   * fields returned are added to its `flow.started.meta` (for instance a W3C `traceparent`).
   * Not called for a run that exists already (an idempotent repeat).
   */
  startMeta?(start: RunStart): EventMeta | undefined
}

/**
 * `observer` when `runner.observe` can use it: an object with an `onEvent` or a `startMeta`
 * function (its own or its class's), each present one a function. Anything else throws
 * `INVALID_ARGUMENT` at the call, not a TypeError to `onError` at every event later: a misspelt
 * `onEvnt` would never be called.
 *
 * @example
 * ```ts
 * runner.observe(checkedObserver({ onEvent: (e) => console.log(e.kind) }))
 * checkedObserver({ onEvnt: () => {} }) // throws INVALID_ARGUMENT: neither onEvent nor startMeta
 * ```
 */
export function checkedObserver(observer: unknown): RunnerObserver {
  if (typeof observer !== 'object' || observer === null)
    throw invalidArgument('runner.observe observer', observer, 'an object { onEvent?, startMeta? } with at least one of them')
  const o = observer as Record<string, unknown>
  for (const name of ['onEvent', 'startMeta'] as const) {
    if (o[name] !== undefined && typeof o[name] !== 'function')
      throw invalidArgument(`runner.observe ${name}`, o[name], `a function, or leave ${name} out`)
  }
  if (o.onEvent === undefined && o.startMeta === undefined) {
    const keys = Object.keys(o)
      .slice(0, 8)
      .map((k) => JSON.stringify(k.slice(0, 64)))
    throw new LeanflowError(
      'INVALID_ARGUMENT',
      `runner.observe needs an observer with onEvent or startMeta (a function); it has ${keys.length === 0 ? 'no keys' : keys.join(', ')}: check their spelling.`,
    )
  }
  return observer as RunnerObserver
}
