import { LeanflowError } from '@leanflow/core'
import type { Queue, Worker } from 'bullmq'

/** The handler calls a worker has running, so that its close knows when they all ended. */
export interface RunningJobs {
  /** `work`, counted as running until it settles. */
  track<T>(work: Promise<T>): Promise<T>
  /** Resolves once no handler call is running (those that start meanwhile included). */
  settled(): Promise<void>
}

/**
 * A worker's running handler calls.
 *
 * @example
 * ```ts
 * const running = runningJobs()
 * const worker = new Worker(name, (job) => running.track(handler(job)), opts)
 * await running.settled()
 * ```
 */
export function runningJobs(): RunningJobs {
  const running = new Set<Promise<unknown>>()
  return {
    track(work) {
      running.add(work)
      const done = () => running.delete(work)
      work.then(done, done)
      return work
    },
    async settled() {
      while (running.size > 0) await Promise.allSettled([...running])
    },
  }
}

/** What {@link closeWorker} closes and whom it tells when Redis does not answer. */
export interface CloseWorkerOptions {
  queueName: string
  running: RunningJobs
  /** How long BullMQ may wait for Redis once the running jobs ended (the queue's `commandTimeout`). */
  graceMs: number
  onError: (err: Error) => void
}

/**
 * Closes a BullMQ worker in bounded time: a graceful `close()` (no new jobs, the running ones
 * finish), which may wait for Redis only `graceMs` once the running handlers ended. Past that,
 * Redis is gone or shut down (a clean `SHUTDOWN` leaves ioredis 5 clients that never end, and
 * BullMQ's close waits for their end forever, also after Redis is back): the worker's connections
 * are dropped, which ends BullMQ's close, and `onError` is told. No job is lost: one whose end was
 * not recorded keeps its lock in Redis until a stalled check puts it back in the queue.
 *
 * @example
 * ```ts
 * await closeWorker(worker, { queueName: 'leanflow', running, graceMs: 5000, onError: console.error })
 * ```
 */
export async function closeWorker(worker: Worker, o: CloseWorkerOptions): Promise<void> {
  const graceful = worker.close()
  graceful.catch(() => {})
  await Promise.race([graceful, o.running.settled()])
  if (await settlesWithin(graceful, o.graceMs)) return graceful
  o.onError(
    new LeanflowError(
      'STORE_UNAVAILABLE',
      `A worker of the BullMQ queue "${o.queueName}" got no answer from Redis within ${o.graceMs} ms (commandTimeout) as it closed: its connections were dropped. A job whose end Redis did not record goes back to the queue at the next stalled check after its lockDuration.`,
    ),
  )
  await dropConnections(worker, o.graceMs)
  await settlesWithin(graceful, o.graceMs)
}

/**
 * Closes a BullMQ producer in bounded time: a graceful `close()` (it sends `QUIT` after the
 * commands it has queued), which may wait for Redis `graceMs`; past that (Redis gone, and a
 * command of an `enqueue` that timed out still queued) its connection is dropped, failing what is
 * queued on it.
 *
 * @example
 * ```ts
 * await closeProducer(producer, 5000)
 * ```
 */
export async function closeProducer(producer: Queue, graceMs: number): Promise<void> {
  const graceful = producer.close()
  graceful.catch(() => {})
  if (await settlesWithin(graceful, graceMs)) return graceful
  await dropConnections(producer, graceMs)
  await settlesWithin(graceful, graceMs)
}

/** Whether `work` settled (resolved or rejected) within `ms`. */
async function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms)
  })
  try {
    return await Promise.race([
      work.then(
        () => true,
        () => true,
      ),
      late,
    ])
  } finally {
    clearTimeout(timer)
  }
}

/** The parts of an ioredis client (`Redis` or `Cluster`, 5 or 6) that {@link endClient} uses. */
interface DroppableClient {
  status?: string
  disconnect?: () => void
  setStatus?: (status: string) => void
  flushQueue?: (err: Error) => void
}

/** Drops the connections of a worker or producer (BullMQ's backend escape hatch; none on another backend). */
async function dropConnections(owner: Worker | Queue, ms: number): Promise<void> {
  const backend = owner.getBackend() as { client?: unknown; blockingClient?: unknown }
  for (const pending of [backend.blockingClient, backend.client]) {
    const client = await valueWithin(pending, ms)
    if (client && typeof client === 'object') endClient(client as DroppableClient)
  }
}

/**
 * `disconnect()`, and for a client that lost its socket and waits to reconnect, the end that
 * ioredis 5 never gives it (ioredis 6.1 does the same in `disconnect()`): its status becomes `end`
 * (BullMQ waits for that event) and its queued commands fail.
 */
function endClient(client: DroppableClient): void {
  client.disconnect?.()
  if (client.status !== 'reconnecting') return
  client.setStatus?.('end')
  client.flushQueue?.(new Error('Connection is closed.'))
}

/** The value of `pending` (a promise or not), or `undefined` when it takes longer than `ms` or fails. */
async function valueWithin(pending: unknown, ms: number): Promise<unknown> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms)
  })
  try {
    return await Promise.race([Promise.resolve(pending).catch(() => undefined), late])
  } finally {
    clearTimeout(timer)
  }
}
