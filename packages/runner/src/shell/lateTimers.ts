import type { JobOut } from '../machine/index.js'
import { isEnded } from '../machine/runDoc.js'
import type { Shell } from './shell.js'

/**
 * The jobs of run `runId` among `jobs` due after `now` (store-clock ms) that a run's end removes:
 * its timers (`w~`, `x~`) and scheduled retries (`s~` with a later time).
 *
 * @example
 * ```ts
 * lateTimers('r1', out.jobs, now) // [{ op: 'add', id: 'w~r1~s~1~0', at: now + 3_600_000, … }]
 * ```
 */
export function lateTimers(runId: string, jobs: readonly JobOut[], now: number): JobOut[] {
  return jobs.filter(
    (j) =>
      j.op === 'add' &&
      j.at !== undefined &&
      j.at > now &&
      (j.name === 'time' || j.name === 'timeout' || j.name === 'step') &&
      j.data.runId === runId,
  )
}

/**
 * Removes `timers` (just queued, see {@link lateTimers}) when run `runId` ended meanwhile: a
 * cancel (a parent's cascade, another process) that read the run after its await was written and
 * before this process queued the await's timer removed a job that did not exist yet, and the
 * timer then stayed queued until due (days, for a long `ctx.await.time`), firing as a no-op.
 * One read of the run's document, only when the outputs queued such a job. Best effort: a
 * failure goes to `onError` (the timer still fires as a no-op).
 *
 * @example
 * ```ts
 * await dropIfEnded(shell, runId, lateTimers(runId, out.jobs, now))
 * ```
 */
export async function dropIfEnded(shell: Shell, runId: string, timers: readonly JobOut[]): Promise<void> {
  if (timers.length === 0) return
  try {
    const doc = await shell.states.read(runId)
    if (doc === null || !isEnded(doc)) return
    await Promise.all(timers.map((j) => shell.queue.remove(j.id)))
  } catch (err) {
    shell.onError(err)
  }
}
