// What `runner.startFlow` and `runner.rerun` take and return.

/**
 * Options of `runner.startFlow`.
 *
 * @example
 * ```ts
 * await runner.startFlow('order', input, { idempotencyKey: req.headers.get('idempotency-key') ?? undefined })
 * ```
 */
export interface StartFlowOptions {
  runId?: string | undefined
  /**
   * A repeat with the same key (and flow) returns the first run, for as long as that run is kept:
   * the key expires with the run (`retention` after it ends; at most 30 days while it runs), and
   * a start with it after that is a new run with a new id.
   * @example
   * ```ts
   * await runner.startFlow('order', { orderId }, { idempotencyKey: orderId })
   * ```
   */
  idempotencyKey?: string | undefined
  /** Admission order among runs queued by the flow's limits: -100..100, higher first. @default 0 */
  priority?: number | undefined
  /**
   * The flow version to start (one this runner holds); the run is pinned to it for its whole life.
   * @default the highest version of the flow this runner holds
   * @example
   * ```ts
   * await runner.startFlow('order', input, { version: 1 }) // while v1 and v2 are both deployed
   * ```
   */
  version?: number | undefined
  /**
   * A W3C `traceparent` (`00-<trace id>-<span id>-<flags>`) kept in `flow.started.meta`: the run's
   * spans join that trace (`@leanflow/otel`). `instrumentRunner` sets it from the active span.
   */
  traceparent?: string | undefined
}

/**
 * What `runner.rerun` takes.
 *
 * @example
 * ```ts
 * await runner.rerun(runId, { from: 'charge' })          // keep what came before charge
 * await runner.rerun(runId, { input: { orderId: 'o-2' } }) // everything again, a new input
 * ```
 */
export interface RerunOptions {
  /**
   * The step to run again: it and every step downstream of it run fresh; every other step that
   * completed in the old run is copied (`step.completed` with `data.copied: true`, its result
   * byte for byte). Without it every step runs again.
   */
  from?: string | undefined
  /** The new run's input (checked by the flow's input schema). @default the old run's input */
  input?: unknown
  /** A repeat of the rerun of the same run with the same key returns the first rerun (a client resending after a lost reply). */
  idempotencyKey?: string | undefined
  /** A W3C `traceparent` kept in the new run's `flow.started.meta`, as `startFlow`'s: its spans join the caller's trace. */
  traceparent?: string | undefined
}

/**
 * What `runner.startFlow` returns: the run, and `deduplicated: true` when no new run was started
 * (a singleton's active run, or a debounce window the call folded into).
 *
 * @example
 * ```ts
 * const { runId, deduplicated } = await runner.startFlow('sync', { userId: 'u-1' })
 * ```
 */
export interface StartedRun {
  runId: string
  deduplicated?: true
}
