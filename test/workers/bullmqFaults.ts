/**
 * The kit of the BullMQ runner fault files (test/faults/bullmq.*.test.ts): one redis-server per
 * file, a producer runner beside real worker processes (runnerWorker.ts), and the effect counters
 * the flows write (workers/flows.ts). Call `useBullmqFaults()` at a file's top level: it registers
 * the server's and the clean-up's hooks.
 */

import { createBullMQQueue } from '@leanflow/bullmq'
import { createRedisStreamStore } from '@leanflow/redis'
import { createRunner, type Runner } from '@leanflow/runner'
import { afterEach } from 'vitest'
import { type RedisServer, useRedisServer } from '../helpers/redisServer.js'
import { effectKey, makeFlows } from './flows.js'
import { type ForkedWorker, forkWorker, stopWorkers } from './forkWorker.js'

/** A 1 s queue lock, stalled checks every 500 ms: a lapsed lock is taken over within about 1.5 s. */
export const FAST = { LOCK_MS: '1000', STALLED_MS: '500' }
const STEPS = ['a', 'b', 'c', 'd', 'e']
export const isCheckpoint = (at: string) => (m: Record<string, unknown>) => m.type === 'checkpoint' && m.at === at
export const ready = (w: ForkedWorker) => w.waitFor((m) => m.type === 'ready', 'ready')
/** The counters that are not exactly 1: an effect that ran twice, or not at all. */
export const allOnes = (counts: Record<string, string | null | undefined>) => Object.entries(counts).filter(([, v]) => v !== '1')

export function useBullmqFaults() {
  /** Its client reads the effect counters the flows write (workers/flows.ts). */
  const redis = useRedisServer({ args: ['--hz', '100'], client: true })
  let n = 0
  const children: ForkedWorker[] = []
  const closers: Array<() => Promise<void>> = []
  /** Servers a test starts for itself (stopped after it). */
  const servers: RedisServer[] = []

  afterEach(async () => {
    await stopWorkers(children)
    for (const close of closers.splice(0)) await close()
    for (const s of servers.splice(0)) await s.stop()
  })

  /** A queue and store of their own on `server`, a producer, and workers spawned with `env`. */
  function setup(server: RedisServer, env: Record<string, string> = {}) {
    const id = `f${++n}`
    const store = createRedisStreamStore({ url: server.url, prefix: id })
    const queue = createBullMQQueue({ url: server.url, queueName: id, onError: () => {} })
    closers.push(async () => {
      await queue.close()
      await store.close()
    })
    const producer: Runner = createRunner({ store, queue, flows: makeFlows(redis.client) })
    const spawn = (extra: Record<string, string> = {}) => {
      const w = forkWorker('runnerWorker.ts', { REDIS_URL: server.url, QUEUE_NAME: id, STORE_PREFIX: id, ...env, ...extra })
      children.push(w)
      return w
    }
    const start = async (count: number, input: Record<string, unknown> = {}) => {
      const runs = await Promise.all(Array.from({ length: count }, () => producer.startFlow('five', { ns: id, ...input })))
      return runs.map((r) => r.runId)
    }
    return { id, store, producer, spawn, start }
  }

  /** Each step's effect counter of each run. */
  async function effectCounts(ns: string, runIds: string[]) {
    const keys = runIds.flatMap((runId) => STEPS.map((s) => effectKey(ns, runId, s)))
    const values = await redis.client.mget(...keys)
    return Object.fromEntries(keys.map((k, i) => [k, values[i]]))
  }

  return { redis, servers, setup, effectCounts }
}
