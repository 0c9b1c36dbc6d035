import type { JobOut } from './commands.js'
import { jobIds } from './keys.js'
import type { RunDoc, StepDoc } from './runDoc.js'

/**
 * Jobs an ended step or run leaves queued for nothing, removed with its end: each would fire as a
 * no-op, but a timeout of days held a queue entry for days after its run ended. Removing a job
 * already running (the one that fired) is a no-op by the queue's contract.
 */

/**
 * The timer jobs of `s` that an end leaves behind: the time job of a `ctx.await.time` that never
 * fired (a race's loser), and the timeout job of an await that did not time out (resolved, or
 * closed by the end).
 */
export function leftTimers(runId: string, step: string, s: StepDoc): JobOut[] {
  const jobs: JobOut[] = []
  if (s.records.length === 0) return jobs
  s.records.forEach((r, pos) => {
    if (r.t === 'do') return
    if (r.t === 'time' && r.state !== 'resolved') jobs.push({ op: 'remove', id: jobIds.time(runId, step, r.attempt, pos) })
    if (r.timeoutAt !== undefined && r.state !== 'timedOut') jobs.push({ op: 'remove', id: jobIds.timeout(runId, step, r.attempt, pos) })
  })
  return jobs
}

/**
 * What an ended run's steps other than `ending` leave queued: a retrying step's next attempt, and
 * the timers of every step that had not ended (a parallel branch suspended, retrying — its records
 * outlive an attempt — or running when another failed the run: its own end is refused now).
 * A step that ended removed its own.
 */
export function leftByRun(runId: string, doc: RunDoc, ending: string | undefined): JobOut[] {
  const jobs: JobOut[] = []
  for (const [name, s] of Object.entries(doc.steps)) {
    if (name === ending || s.status === 'completed' || s.status === 'failed') continue
    if (s.status === 'retrying') jobs.push({ op: 'remove', id: jobIds.step(runId, name, s.attempt) })
    jobs.push(...leftTimers(runId, name, s))
  }
  return jobs
}
