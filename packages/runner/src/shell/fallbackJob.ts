import type { JobSpec } from '@leanflow/core'
import type { Shell } from './shell.js'

/**
 * Queues `job` (delayed) before a write whose follow-up work it would redo, should the process die
 * in between: `done()` removes it once that work was carried out (a remove that fails leaves a job
 * that repeats the work harmlessly). The `begin` job of a rerun's start, the `cancel` job of a cancel.
 *
 * @example
 * ```ts
 * const fallback = await queueFallback(shell, { id, name: 'cancel', data: { runId, step: '' }, delayMs: 5_000 })
 * // … the write, then its outputs …
 * await fallback.done()
 * ```
 */
export async function queueFallback(shell: Shell, job: JobSpec): Promise<{ done(): Promise<void> }> {
  await shell.queue.enqueue(job)
  return { done: () => shell.queue.remove(job.id).catch(() => {}) }
}
