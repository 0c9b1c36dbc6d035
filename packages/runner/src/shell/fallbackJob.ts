import { isLeanflowError, type JobSpec, LeanflowError } from '@leanflow/core'
import type { Shell } from './shell.js'

/**
 * Queues `job` (delayed) before a write whose follow-up work it would redo, should the process die
 * in between: `done()` removes it once that work was carried out (a remove that fails leaves a job
 * that repeats the work harmlessly): the `begin` job of a rerun or a queued run, the `cancel` job
 * of a cancel, a publish's `match` job, a trigger resolve's `trigger` job. A queue that refuses it
 * refuses the call (`call`, as the caller wrote it), with its error's code: nothing was written
 * (`call` undefined: the queue's error as it is, for a job queued after a write).
 *
 * @example
 * ```ts
 * const fallback = await queueFallback(shell, { id, name: 'cancel', data: { runId, step: '' }, delayMs: 5_000 }, `cancel("${runId}")`)
 * // … the write, then its outputs …
 * await fallback.done()
 * ```
 */
export async function queueFallback(shell: Shell, job: JobSpec, call: string | undefined): Promise<{ done(): Promise<void> }> {
  try {
    await shell.queue.enqueue(job)
  } catch (err) {
    // the queue's message names a job the caller never saw: say what did not happen, and what to do
    if (!isLeanflowError(err) || call === undefined) throw err
    throw new LeanflowError(
      err.code,
      `${call} did not go ahead: the queue did not take the job that would finish it should this process die (${err.message}). Nothing was written: retry it once the queue is reachable (with the same idempotency key, if it had one).`,
      { cause: err },
    )
  }
  return { done: () => shell.queue.remove(job.id).catch(() => {}) }
}
