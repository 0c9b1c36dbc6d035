import { createBullMQQueue } from '@leanflow/bullmq'
import type { JobQueue } from '@leanflow/core'
import { createRedisStreamStore, type RedisStreamStore } from '@leanflow/redis'
import { createRunner, type FlowDefinition, type Runner } from '@leanflow/runner'
import { afterEach } from 'vitest'
import type { UsedRedisServer } from '../helpers/redisServer.js'
import { type ForkedWorker, forkWorker, stopWorkers } from './forkWorker.js'

/** What {@link useWorkerFleet} needs: the server, a prefix for each test's keys, the worker script and its flows. */
export interface WorkerFleetOptions {
  redis: UsedRedisServer
  /** Each test's store prefix and queue name are this plus a counter. */
  prefix: string
  /** The worker script in test/workers/ (it reads REDIS_URL, STORE_PREFIX and QUEUE_NAME). */
  worker: string
  /** The flows of the producer runner, for the test's prefix and store. */
  flows: (id: string, store: RedisStreamStore) => FlowDefinition[]
  /** More environment for every worker (e.g. QUIET). */
  env?: Record<string, string>
}

/** One test's fleet: its store and queue, a producer runner (never started) and its worker processes. */
export interface WorkerFleet {
  id: string
  store: RedisStreamStore
  queue: JobQueue
  producer: Runner
  /** Forks a worker on the test's store and queue (not waited for: see `ready`). */
  spawn(env?: Record<string, string>): ForkedWorker
  /** Waits until each worker says it is ready. */
  ready(workers: ForkedWorker[]): Promise<unknown>
  /** Closes `close` after the test, before the store and queue. */
  onClose(close: () => Promise<void>): void
}

/**
 * The fault tests' processes on one real redis-server and BullMQ: `setup()` gives each test a
 * fresh prefix and queue, a producer runner that only starts runs and reads, and worker
 * processes forked on them; after each test the workers are stopped and everything closed.
 *
 * @example
 * ```ts
 * const fleet = useWorkerFleet({ redis, prefix: 'fc', worker: 'limitWorker.ts', flows: () => limitFlows(redis.client) })
 * const { producer, spawn, ready } = fleet.setup()
 * await ready([spawn(), spawn()])
 * ```
 */
export function useWorkerFleet(opts: WorkerFleetOptions): { setup(): WorkerFleet } {
  let n = 0
  const workers: ForkedWorker[] = []
  const closers: Array<() => Promise<void>> = []
  afterEach(async () => {
    await stopWorkers(workers, 5000)
    for (const close of closers.splice(0)) await close()
  })
  return {
    setup() {
      const { redis } = opts
      const id = `${opts.prefix}${++n}`
      const store = createRedisStreamStore({ url: redis.url, prefix: id })
      const queue = createBullMQQueue({ url: redis.url, queueName: id })
      const own: Array<() => Promise<void>> = []
      closers.push(async () => {
        for (const close of own) await close()
        await queue.close()
        await store.close()
      })
      const producer = createRunner({ store, queue, flows: opts.flows(id, store) })
      return {
        id,
        store,
        queue,
        producer,
        spawn(env = {}) {
          const w = forkWorker(opts.worker, { REDIS_URL: redis.url, STORE_PREFIX: id, QUEUE_NAME: id, ...opts.env, ...env })
          workers.push(w)
          return w
        },
        ready: (ws) => Promise.all(ws.map((w) => w.waitFor((m) => m.type === 'ready', 'ready'))),
        onClose: (close) => {
          own.push(close)
        },
      }
    },
  }
}
