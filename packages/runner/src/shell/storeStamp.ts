import { type ActiveJob, type JobQueue, LeanflowError } from '@leanflow/core'
import type { RunnerJobData } from '../machine/keys.js'
import type { Shell } from './shell.js'

/**
 * `queue`, with every job it queues stamped with `storeId` (`data.store`): the store whose runs
 * the job belongs to, so that a worker over another store that takes it (two apps on one BullMQ
 * queue) hands it back instead of finding no run and dropping it ({@link foreignJob}). `queue`
 * itself when the store has no id (nothing to stamp: such jobs are taken as before).
 *
 * @example
 * ```ts
 * const stamped = stampedQueue(createBullMQQueue({ url }), 'redis:shop')
 * await stamped.enqueue({ id: 'j1', name: 'step', data: { runId: 'r1', step: 'a' } }) // data.store: 'redis:shop'
 * ```
 */
export function stampedQueue(queue: JobQueue, storeId: string | undefined): JobQueue {
  if (storeId === undefined) return queue
  return {
    enqueue: (job) => queue.enqueue({ ...job, data: { ...(job.data as object), store: storeId } }),
    remove: (id) => queue.remove(id),
    process: (handler, opts) => queue.process(handler, opts),
    close: () => queue.close(),
  }
}

/** The errors {@link foreignJob} made: reported to `onError` once per store already, never again by the queue. */
export const foreignJobs = new WeakSet<object>()

/**
 * The error that hands back a job stamped for another store than this worker's (`undefined` for
 * one of its own, or one without a stamp: queued before stamps, or by a store without an id; and
 * on a worker whose store has no id, which cannot tell: a store wrapped into an object without the
 * id must not send back every job of its own app).
 * Nothing was read or written; the queue delivers the job again, to any worker. Reported to
 * `onError` once per foreign store and process: two apps share one queue, which only giving each
 * its own queue fixes.
 */
export function foreignJob(shell: Shell, job: ActiveJob, data: RunnerJobData): LeanflowError | undefined {
  const stamp = data.store
  if (stamp === undefined || shell.storeId === undefined || stamp === shell.storeId) return undefined
  const err = new LeanflowError(
    'RUN_NOT_FOUND',
    `Job "${job.id}" of run "${data.runId}" was queued by a runner over store "${stamp}", and this worker runs over store "${shell.storeId}": two apps (or two store prefixes) share one queue. The job goes back to the queue for a worker of its store; give each app its own queue (createBullMQQueue's \`queueName\` or \`prefix\`).`,
  )
  foreignJobs.add(err)
  if (!shell.foreign.has(stamp)) {
    shell.foreign.add(stamp)
    shell.onError(err)
  }
  return err
}
