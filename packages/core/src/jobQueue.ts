/** A job to enqueue. */
export interface JobSpec<T = unknown> {
  /** Unique id, a non-empty string: enqueueing an id that is still waiting, delayed or active is a no-op. */
  id: string
  /** What the job does (the runner uses it to route). */
  name: string
  data: T
  /** Run no sooner than this many ms from now: a finite number ≥ 0 (anything else is `INVALID_ARGUMENT`). @default 0 */
  delayMs?: number | undefined
}

/** A job handed to a {@link JobHandler}. */
export interface ActiveJob<T = unknown> extends JobSpec<T> {
  /** How many times this job was delivered before (0 on the first delivery). */
  deliveries: number
  /**
   * For a queue whose workers hold a job under a lock that lapses unless renewed (BullMQ's
   * `lockDuration`): how long, in ms. A handler whose lock lapsed (its event loop blocked, its
   * Redis frozen, its renewals failed) may have lost the job to another worker; the runner then
   * hands the step back rather than run a `ctx.do` function the other may run too. It asks
   * {@link ActiveJob.renewLock} when given; else a handler that knew nothing of its lease for
   * half that long is taken to have lost it. Leave it out when no other worker can take a running
   * job (the memory queue).
   */
  lockMs?: number | undefined
  /**
   * For a queue with {@link ActiveJob.lockMs}: renews this delivery's lock now, for another
   * `lockMs`, resolving `true` while it was still this worker's and `false` once it was not
   * (it lapsed: another worker may take the job, or has). A `ctx.do` that would run its function
   * more than half a lock after the lock was last known held asks it first, and hands the step
   * back on `false`, on an error, or on no answer within a lock: a lock can lapse while the
   * worker's store reads still answer (its renewals failed or came late). Without it the runner
   * judges the lock by those answers alone.
   *
   * @example
   * ```ts
   * // BullMQ: the worker's token, the queue's lockDuration (extendLock answers 1 or 0)
   * renewLock: async () => (await job.extendLock(token, lockDuration)) === 1
   * ```
   */
  renewLock?: (() => Promise<boolean>) | undefined
  /**
   * For a queue with {@link ActiveJob.renewLock}: when this delivery's lock was taken, as this
   * process's `Date.now()` when the take was sent (BullMQ's `job.processedOn`). Left out, the
   * lock is taken as unknown: the first `ctx.do` renews it.
   */
  lockedAt?: number | undefined
}

/**
 * Handles one job. A throw makes the queue deliver the job again later
 * (at-least-once, with backoff); the runner makes a re-delivery harmless. A thrown error with a
 * `redeliverAfterMs` (a finite number ≥ 0) asks for that delay instead of the backoff: the
 * runner sets it on the jobs it hands back to look again soon (a new run's first job whose run is
 * not written yet). The built-in queues follow it; a queue of your own may, or keep its backoff.
 *
 * @example
 * ```ts
 * const handler: JobHandler = async (job) => {
 *   if (!(await ready(job.data))) throw Object.assign(new Error('not yet'), { redeliverAfterMs: 500 })
 * }
 * ```
 */
export type JobHandler = (job: ActiveJob) => Promise<void>

/**
 * The delay a handler's error asks for its job's next delivery (`redeliverAfterMs`, see
 * {@link JobHandler}), or undefined when it asks none (the queue's backoff then).
 *
 * @example
 * ```ts
 * const ms = redeliverAfterMs(err) ?? backoff(deliveries)
 * ```
 */
export function redeliverAfterMs(err: unknown): number | undefined {
  const ms = typeof err === 'object' && err !== null ? (err as { redeliverAfterMs?: unknown }).redeliverAfterMs : undefined
  return typeof ms === 'number' && Number.isFinite(ms) && ms >= 0 ? ms : undefined
}

/** Options of {@link JobQueue.process}. */
export interface ProcessOptions {
  /** Jobs handled at once by this process. @default 10 */
  concurrency?: number | undefined
}

/** A running consumer of a queue. */
export interface JobWorker {
  /** Stops taking jobs and waits for the running ones (they finish or go back to the queue). */
  close(): Promise<void>
}

/**
 * The job queue port the runner executes steps through. `createMemoryQueue()`
 * (`@leanflow/runner`) is the embedded default; `createBullMQQueue()`
 * (`@leanflow/bullmq`) runs many processes on many machines.
 */
export interface JobQueue {
  /** Idempotent by `id` while the job is pending or active. */
  enqueue(job: JobSpec): Promise<void>
  /** Removes a waiting or delayed job; no-op when absent or already active. */
  remove(id: string): Promise<void>
  /** Starts consuming jobs with `handler`. */
  process(handler: JobHandler, opts?: ProcessOptions): Promise<JobWorker>
  /** Closes the workers (draining) and the queue's connections. */
  close(): Promise<void>
}
