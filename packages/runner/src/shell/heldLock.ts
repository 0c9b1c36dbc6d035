import { type ActiveJob, LeanflowError } from '@leanflow/core'
import { type Execution, orHandBack } from './execution.js'

/** A job's queue lock as this process knows it, shared by the steps the job runs one after another. */
export interface JobLock {
  /** `ActiveJob.lockMs`. */
  readonly ms: number
  /** `ActiveJob.renewLock`. */
  readonly renew: () => Promise<boolean>
  /** When the lock was last known taken or renewed: `performance.now()` as that call was sent (`-Infinity`: not known). */
  heldAt: number
}

const locks = new WeakMap<ActiveJob, JobLock>()

/**
 * The lock of `job`, for a queue that renews it on demand (`lockMs` and `renewLock`), else undefined.
 *
 * @example
 * ```ts
 * ex.jobLock = jobLock(job) // the same object for every step the job runs
 * ```
 */
export function jobLock(job: ActiveJob): JobLock | undefined {
  if (job.lockMs === undefined || !job.renewLock) return undefined
  let lock = locks.get(job)
  if (!lock) {
    const age = job.lockedAt === undefined ? Number.POSITIVE_INFINITY : Math.max(0, Date.now() - job.lockedAt)
    lock = { ms: job.lockMs, renew: job.renewLock, heldAt: performance.now() - age }
    locks.set(job, lock)
  }
  return lock
}

/** The most lock renewals before a `ctx.do`: each answered later than half a lock leaves too little of it. */
const MAX_RENEWALS = 3

/**
 * Before a `ctx.do` function, on a queue that renews its lock on demand (`ActiveJob.renewLock`):
 * when the lock was last known held more than half a lock ago, renews it, so the function starts
 * with at least half a lock in which no other worker can take the step. A lock no longer this
 * worker's (it lapsed while the worker's store reads answered: BullMQ's renewals failed or came
 * late), an error, no answer within a lock, or answers each later than half a lock hand the step
 * back, its function not run. A renewal that took also tells that the lock never lapsed since
 * the job was taken: a lapsed lock is gone, and only its holder sets it again.
 *
 * @example
 * ```ts
 * await heldLock(ex) // before the ctx.do's function; a no-op within half a lock of the last renewal
 * ```
 */
export async function heldLock(ex: Execution): Promise<void> {
  const lock = ex.jobLock
  if (!lock) return
  for (let asked = 0; performance.now() - lock.heldAt > lock.ms / 2; asked++) {
    if (asked === MAX_RENEWALS) throw ex.stop('handback', lockUnsure(ex, lock, 'its renewals each answered later than half the lock'))
    const sent = performance.now()
    // a renewal that throws (Redis refused it, a queue's own error) is said as one that failed, the error its cause
    const renewal = Promise.resolve()
      .then(() => lock.renew())
      .catch((err: unknown) => {
        throw lockUnsure(ex, lock, `its renewal failed (${err instanceof Error ? err.message : String(err)})`, err)
      })
    const held = await orHandBack(ex, () => withinLock(renewal, ex, lock))
    ex.check()
    if (!held)
      throw ex.stop('handback', lockUnsure(ex, lock, 'it was no longer this worker’s (it lapsed: its renewals failed or came late)'))
    if (sent > lock.heldAt) lock.heldAt = sent
  }
}

/** The renewal's answer, or a `STORE_UNAVAILABLE` once a whole lock went by without one (the lock may have lapsed meanwhile). */
async function withinLock(renewal: Promise<boolean>, ex: Execution, lock: JobLock): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(lockUnsure(ex, lock, 'its renewal got no answer within the lock')), lock.ms)
  })
  try {
    return await Promise.race([renewal, late])
  } finally {
    clearTimeout(timer)
  }
}

/** Why a `ctx.do` did not run its function: the step goes back to the queue (no attempt spent). */
function lockUnsure(ex: Execution, lock: JobLock, why: string, cause?: unknown): LeanflowError {
  return new LeanflowError(
    'STORE_UNAVAILABLE',
    `Step "${ex.step}" of run "${ex.runId}" could not hold its queue lock (${lock.ms} ms): ${why}. Another worker may be taking the step over, so its ctx.do did not run its function, and the step goes back to the queue. A Redis too slow to answer the lock's renewals in time, or a worker too loaded to send them, does this.`,
    cause === undefined ? undefined : { cause },
  )
}
