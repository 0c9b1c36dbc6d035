import { AsyncResource } from 'node:async_hooks'

/** The async context this module was loaded in: no caller's (no request's, no active span's). */
const scope = new AsyncResource('leanflow.detached')

/**
 * Runs `fn` outside the caller's async context (its `AsyncLocalStorage` stores, an OpenTelemetry
 * active span among them), in the one this module was loaded in. The runner starts its background
 * work — the queue's worker loop, the schedule ticker — and runs each job this way: `runner.start()`
 * called inside a span (a startup span, a request) would otherwise lend that span to every step
 * handler and to every run a step or a tick starts, for as long as the runner runs; and the memory
 * queue would run a job in the context of whatever handed it in (another run's caller).
 *
 * @example
 * ```ts
 * worker = await detached(() => queue.process(handler, { concurrency }))
 * ```
 */
export function detached<T>(fn: () => T): T {
  return scope.runInAsyncScope(fn)
}
