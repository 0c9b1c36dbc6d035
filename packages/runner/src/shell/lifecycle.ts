import type { ActiveJob, JobQueue, JobWorker } from '@leanflow/core'
import { admitLeftQueued } from '../flowControl/leftQueued.js'
import { detached } from './detached.js'
import { handleJob } from './jobs.js'
import { OBSERVER_SETTLE_MS, settledWithin } from './observers.js'
import type { Shell } from './shell.js'

/** What {@link createLifecycle} runs: the runner's shell and queue, its schedule ticker and its worker options. */
export interface LifecycleOptions {
  shell: Shell
  queue: JobQueue
  /** The runner made its queue (the default memory queue): `stop()` closes it too. */
  ownQueue: boolean
  schedules: { startTicking(): Promise<void>; stopTicking(): Promise<void> }
  concurrency: number
  cancelPollMs: number
  /** How long `stop()` waits for running steps before it hands them back. */
  drainTimeoutMs: number
}

/**
 * A runner's `start()` and `stop()`: a worker on the queue and the schedule ticker, started and
 * drained. The two take turns, in call order: concurrent calls never make two workers (one of them
 * left running after `stop()`) nor let a stop's queue close take a later start's worker.
 *
 * @example
 * ```ts
 * const { start, stop } = createLifecycle({ shell, queue, ownQueue, schedules, concurrency: 10, cancelPollMs: 1000, drainTimeoutMs: 30_000 })
 * ```
 */
export function createLifecycle(o: LifecycleOptions): { start(): Promise<void>; stop(): Promise<void> } {
  const { shell, queue, schedules } = o
  let worker: JobWorker | undefined
  let turn: Promise<void> = Promise.resolve()
  const inTurn = (change: () => Promise<void>): Promise<void> => {
    const done = turn.then(change)
    turn = done.catch(() => {})
    return done
  }

  async function startWorker() {
    if (worker) return
    shell.stopping = false
    await shell.clock.now()
    // the worker loop, each job and the ticker carry no caller's async context (an active span):
    // not this call's (it would parent every step handler and every run a step or a tick starts),
    // nor, on the memory queue, that of whatever handed the job in (another run's startFlow caller)
    const handle = (job: ActiveJob) => detached(() => handleJob(shell, job, { cancelPollMs: o.cancelPollMs }))
    worker = await detached(() => queue.process(handle, { concurrency: o.concurrency }))
    await detached(() => schedules.startTicking())
    // runs a deploy with limits left queued, of flows this worker holds without them: they run now
    void detached(() => admitLeftQueued(shell)).catch(shell.onError)
  }

  async function stopWorker() {
    const w = worker
    worker = undefined
    // a runner never started (a producer) has no worker, but its observers may still be told of
    // what its startFlow or cancel appended: wait for them as a worker's stop does
    if (!w) return void (await settledWithin(shell.observers.idle(), OBSERVER_SETTLE_MS))
    // one drainTimeoutMs for both: a look firing a tick (an input function that never settles
    // holds it) is left to finish alone, and whatever it still starts a running worker serves
    const deadline = performance.now() + o.drainTimeoutMs
    await settledWithin(schedules.stopTicking(), o.drainTimeoutMs)
    shell.stopping = true
    let timer: ReturnType<typeof setTimeout> | undefined
    const handBack = new Promise<void>((resolve) => {
      timer = setTimeout(
        () => {
          shell.local.stopAll('handback')
          resolve()
        },
        Math.max(0, deadline - performance.now()),
      )
    })
    const closing = w.close()
    await Promise.race([closing, handBack])
    await closing
    clearTimeout(timer)
    // the observers told of what the last steps appended before the caller closes the store (a
    // delivery may read a run's flow.started from it): spans and metrics of a drained worker complete
    await settledWithin(shell.observers.idle(), OBSERVER_SETTLE_MS)
    if (o.ownQueue) await queue.close()
  }

  return { start: () => inTurn(startWorker), stop: () => inTurn(stopWorker) }
}
