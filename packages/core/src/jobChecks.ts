// The refusals every `JobQueue` makes the same way, for the built-in queues and for custom ones:
// a job id that is no non-empty string, a delay that is no finite number of ms ≥ 0.
import { LeanflowError } from './errors.js'
import { shown } from './invalidArgument.js'
import type { JobSpec } from './jobQueue.js'

/**
 * A job id of `enqueue` or `remove`: a non-empty string, else `INVALID_ARGUMENT` naming it.
 *
 * @example
 * ```ts
 * async remove(id) {
 *   assertJobId(id)
 *   // … remove the job
 * }
 * ```
 */
export function assertJobId(id: unknown): asserts id is string {
  if (typeof id !== 'string' || id.length === 0) {
    throw new LeanflowError('INVALID_ARGUMENT', `Job id ${shown(id)} is not a non-empty string: pass a unique string id.`)
  }
}

/**
 * The delay of job `spec` in ms (`0` when it has none); a `delayMs` that is no finite number ≥ 0
 * (`NaN`, `-5`, `'5'`, `Infinity`: a job that would never run) is `INVALID_ARGUMENT` naming it.
 *
 * @example
 * ```ts
 * async enqueue(spec) {
 *   assertJobId(spec.id)
 *   const delay = jobDelayMs(spec) // 0 for a job due now
 *   // … queue it, due in `delay` ms
 * }
 * ```
 */
export function jobDelayMs(spec: JobSpec): number {
  const delayMs: unknown = spec.delayMs ?? 0
  if (typeof delayMs !== 'number' || !Number.isFinite(delayMs) || delayMs < 0) {
    throw new LeanflowError('INVALID_ARGUMENT', `Job "${spec.id}" has delayMs ${String(delayMs)}: use a finite number of ms ≥ 0.`)
  }
  return delayMs
}

/**
 * The data of job `spec` as a queue stores it, the JSON BullMQ writes: `undefined` (or a function,
 * which has no JSON) as `{}`, a `Date` as its ISO string, `undefined` fields left out, `NaN` as
 * `null`. A queue delivers `JSON.parse` of it, a fresh copy each time, so neither a change to the
 * enqueued object nor a handler's change to `job.data` is seen by a later delivery. Data JSON
 * cannot hold (a `BigInt`, a cycle) is `INVALID_ARGUMENT` naming the job.
 *
 * @example
 * ```ts
 * async enqueue(spec) {
 *   const json = jobDataJson(spec) // '{"to":"you"}' for data { to: 'you' }
 *   // … queue it; deliver { ...spec, data: JSON.parse(json) }
 * }
 * ```
 */
export function jobDataJson(spec: JobSpec): string {
  try {
    return (spec.data === undefined ? undefined : JSON.stringify(spec.data)) ?? '{}'
  } catch (cause) {
    throw new LeanflowError(
      'INVALID_ARGUMENT',
      `The data of job "${spec.id}" cannot be stored as JSON (${String(cause)}): pass plain JSON values.`,
      {
        cause,
      },
    )
  }
}
