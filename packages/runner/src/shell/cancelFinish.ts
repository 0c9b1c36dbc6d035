import { jobIds } from '../machine/keys.js'
import { apply } from './apply.js'
import { type Fallback, queueFallback } from './fallbackJob.js'
import { newId } from './newId.js'
import type { Shell } from './shell.js'

/**
 * How long after a cancel its `cancel` job comes, in ms: the cancel removes it once it carried out
 * its outputs (its `flow.canceled`, the removal of its jobs, its cascade through the run's
 * children), so it only comes when the process that canceled died in between.
 */
export const CANCEL_FINISH_AFTER_MS = 5_000

/**
 * Queues the `cancel` job of a cancel of `runId` ({@link CANCEL_FINISH_AFTER_MS} ahead), before the
 * cancel writes anything; `done()` removes it once the cancel, cascade included, was carried out
 * (a remove that fails leaves a job that repeats it harmlessly). A cancel whose process dies after
 * its write left the run's document canceled with its log, jobs or children behind: nothing else
 * comes back to such a run, so the job finishes it, on any worker.
 *
 * @example
 * ```ts
 * const finish = await queueCancelFinish(shell, runId)
 * try {
 *   await apply(shell, runId, { type: 'cancel', reason }, { fresh: true })
 *   await finish.done()
 * } finally {
 *   finish.stop()
 * }
 * ```
 */
export function queueCancelFinish(shell: Shell, runId: string): Promise<Fallback> {
  return queueFallback(
    shell,
    {
      id: jobIds.cancel(runId, newId()),
      name: 'cancel',
      data: { runId, step: '' },
      delayMs: CANCEL_FINISH_AFTER_MS,
    },
    `cancel("${runId}")`,
    // moved out while a long cascade (hundreds of children) runs, so it never cancels beside this cancel
    true,
  )
}

/**
 * A `cancel` job: the cancel that queued it may have died after writing the run canceled. A run
 * whose document says canceled gets the cancel again, which carries out what such a cancel left
 * (its `flow.canceled`, idempotent; its jobs' removal; its cascade, through children that ended
 * too). Any other run is left as it is: a cancel that wrote nothing failed, and its caller heard so
 * (or heard nothing, and asks again: a cancel is safe to repeat).
 */
export async function finishCancel(shell: Shell, runId: string): Promise<void> {
  const doc = await shell.states.read(runId)
  if (doc?.status !== 'canceled') return
  await apply(shell, runId, { type: 'cancel', cascade: true }, { fresh: true })
}
