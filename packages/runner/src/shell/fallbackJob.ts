import { isLeanflowError, type JobSpec, LeanflowError } from '@leanflow/core'
import type { Shell } from './shell.js'

/** A queued fallback job: `done()` removes it (the work it would redo was carried out), `stop()` leaves it queued and stops moving it. */
export interface Fallback {
  done(): Promise<void>
  stop(): void
}

/**
 * Queues `job` (delayed) before a write whose follow-up work it would redo, should the process die
 * in between: `done()` removes it once that work was carried out (a remove that fails leaves a job
 * that repeats the work harmlessly): the `begin` job of a rerun or a queued run, the `cancel` job
 * of a cancel, a publish's `match` job, a trigger resolve's `trigger` job. A queue that refuses it
 * refuses the call (`call`, as the caller wrote it), with its error's code: nothing was written
 * (`call` undefined: the queue's error as it is, for a job queued after a write).
 *
 * With `renew`, for work that may run longer than the job's delay (a publish matching many runs, a
 * cancel's cascade), the job is moved out every half of its delay while the caller works (a new
 * job `<id>~<n>`, then the old one removed), so it never redoes the work beside a caller that is
 * alive; the caller then calls `stop()` (in a `finally`) or `done()`.
 *
 * @example
 * ```ts
 * const fallback = await queueFallback(shell, { id, name: 'cancel', data: { runId, step: '' }, delayMs: 5_000 }, `cancel("${runId}")`)
 * // … the write, then its outputs …
 * await fallback.done()
 * ```
 */
export async function queueFallback(shell: Shell, job: JobSpec, call: string | undefined, renew = false): Promise<Fallback> {
  await enqueue(shell, job, call)
  let current = job.id
  if (!renew || job.delayMs === undefined) return { done: () => remove(shell, current), stop: () => {} }
  // one move at a time; `done` waits for the one in flight, so no job it queued is left behind
  let moving = Promise.resolve()
  let n = 0
  const timer = setInterval(() => {
    moving = moving.then(async () => {
      const next = `${job.id}~${++n}`
      // a queue that refuses the new one keeps the old one: it redoes the work, harmlessly
      if (
        !(await shell.queue.enqueue({ ...job, id: next }).then(
          () => true,
          () => false,
        ))
      )
        return
      const old = current
      current = next
      await remove(shell, old)
    })
  }, job.delayMs / 2)
  timer.unref?.()
  return {
    stop: () => clearInterval(timer),
    async done() {
      clearInterval(timer)
      await moving
      await remove(shell, current)
    },
  }
}

async function enqueue(shell: Shell, job: JobSpec, call: string | undefined): Promise<void> {
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
}

/** Removes a fallback job; a remove that fails leaves a job that repeats the work harmlessly. */
const remove = (shell: Shell, id: string) => shell.queue.remove(id).catch(() => {})
