import type { NewEvent } from './events.js'

/**
 * What a step event makes its step, as the reducer sees it, for a store that keeps a run's
 * status without folding the whole log (the run status index of `listRuns({ status })`):
 * `'active'` running, retrying or queued (`step.started`, `step.resumed`, `step.await.timeout`,
 * `step.retry`, `step.failed` with `willRetry`, `step.queued`), `'awaiting'` (`step.await.*`),
 * `'done'` (`step.completed`, `step.failed` for good); `undefined` for any other event. A
 * started run is `awaiting` while one of its steps awaits and none is active (a `queued` run
 * stays `queued` until its first `step.started`).
 *
 * It reads one event: with several awaits pending in a step (`data.position`), a `step.resumed`
 * or `step.await.timeout` of one of them leaves the step `awaiting` on the others, which only a
 * store that keeps the step's pending positions can tell (the built-in run indexes do).
 *
 * @example
 * ```ts
 * stepActivity({ kind: 'step.await.trigger', flow: 'r1', step: 'approve', data: {} }) // 'awaiting'
 * ```
 */
export function stepActivity(event: Pick<NewEvent, 'kind' | 'step' | 'data'>): StepActivity | undefined {
  if (event.step === undefined) return undefined
  if (event.kind === 'step.failed') return (event.data as { willRetry?: unknown } | null)?.willRetry === true ? 'active' : 'done'
  return Object.hasOwn(ACTIVITY, event.kind) ? ACTIVITY[event.kind] : undefined
}

/** The answer of {@link stepActivity}. */
export type StepActivity = 'active' | 'awaiting' | 'done'

const ACTIVITY: Record<string, StepActivity> = {
  'step.queued': 'active',
  'step.started': 'active',
  'step.completed': 'done',
  'step.retry': 'active',
  'step.await.time': 'awaiting',
  'step.await.event': 'awaiting',
  'step.await.trigger': 'awaiting',
  'step.await.run': 'awaiting',
  'step.resumed': 'active',
  'step.await.timeout': 'active',
}
