/**
 * The BullMQ queue across real processes: separate producer and workers,
 * a worker SIGKILLed mid-job (stalled recovery), SIGTERM drains.
 */
import { createBullMQQueue } from '@leanflow/bullmq'
import type { ActiveJob, JobQueue } from '@leanflow/core'
import { sleep } from '@leanflow/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { startRedis, useRedisServer } from '../helpers/redisServer.js'
import { waitFor } from '../helpers/waitFor.js'
import { type ForkedWorker, forkWorker } from '../workers/forkWorker.js'

const redis = useRedisServer()
let n = 0
const children: ForkedWorker[] = []
const queues: JobQueue[] = []

afterEach(async () => {
  for (const c of children.splice(0)) c.kill('SIGKILL')
  await Promise.all(queues.splice(0).map((q) => q.close()))
})

const FAST = { LOCK_MS: '1000', STALLED_MS: '500' }
function setup(env: Record<string, string> = {}) {
  const queueName = `faults${++n}`
  const producer = createBullMQQueue({ url: redis.url, queueName })
  queues.push(producer)
  const spawn = () => {
    const w = forkWorker('queueWorker.ts', { REDIS_URL: redis.url, QUEUE_NAME: queueName, ...env })
    children.push(w)
    return w
  }
  return { queueName, producer, spawn }
}
const isMsg = (type: string, id?: string) => (m: Record<string, unknown>) => m.type === type && (id === undefined || m.id === id)

describe('BullMQ queue across processes', () => {
  it('a producer-only process feeds two worker processes; every job runs once', async () => {
    const { producer, spawn } = setup()
    const workers = [spawn(), spawn()]
    await Promise.all(workers.map((w) => w.waitFor(isMsg('ready'), 'ready')))
    const ids = Array.from({ length: 60 }, (_, i) => `job:${i}`)
    await Promise.all(ids.map((id) => producer.enqueue({ id, name: 'n', data: { holdMs: 5 } })))
    const done = () => workers.flatMap((w) => w.messages.filter(isMsg('done')).map((m) => m.id as string))
    await waitFor(() => done().length >= ids.length, '60 jobs done', 60_000)
    await sleep(200)
    expect(done().sort()).toEqual([...ids].sort())
    // Both processes took part.
    for (const w of workers) expect(w.messages.filter(isMsg('done')).length).toBeGreaterThan(0)
  })

  it('F1 (queue): a worker SIGKILLed mid-job; the job is re-delivered elsewhere after the lock expires', async () => {
    const { producer, spawn } = setup(FAST)
    const victim = spawn()
    await victim.waitFor(isMsg('ready'), 'ready')
    await producer.enqueue({ id: 'victim-job', name: 'n', data: { holdMs: 60_000 } })
    await victim.waitFor(isMsg('active', 'victim-job'), 'victim-job active')
    victim.kill('SIGKILL')
    await victim.exited
    const rescuer = spawn()
    const redelivered = await rescuer.waitFor(isMsg('active', 'victim-job'), 'victim-job re-delivered', 30_000)
    expect(redelivered.deliveries).toBe(1)
  })

  it('F5 (queue): redis-server SIGKILLed and restarted (AOF); queued, delayed and in-flight jobs all run', async () => {
    const server = await startRedis({ appendonly: true })
    try {
      const queueName = `f5-${++n}`
      const producer = createBullMQQueue({ url: server.url, queueName, onError: () => {} })
      queues.push(producer)
      const w = forkWorker('queueWorker.ts', { REDIS_URL: server.url, QUEUE_NAME: queueName, CONCURRENCY: '2', ...FAST })
      children.push(w)
      await w.waitFor(isMsg('ready'), 'ready')
      const ids = Array.from({ length: 20 }, (_, i) => `f5:${i}`)
      for (const [i, id] of ids.entries()) {
        await producer.enqueue({ id, name: 'n', data: { holdMs: 100 }, delayMs: i % 4 === 0 ? 1500 : 0 })
      }
      await w.waitFor(isMsg('done'), 'first job done')
      await server.kill()
      await sleep(300)
      await server.restart()
      const done = () => new Set(w.messages.filter(isMsg('done')).map((m) => m.id as string))
      await waitFor(() => ids.every((id) => done().has(id)), 'every job after the restart', 60_000)
      expect([...done()].sort()).toEqual([...ids].sort())
    } finally {
      for (const c of children.splice(0)) c.kill('SIGKILL')
      await Promise.all(queues.splice(0).map((q) => q.close()))
      await server.stop()
    }
  })

  it('F18 (queue): SIGTERM mid-job drains: the job finishes, the process exits 0, no re-delivery', async () => {
    const { producer, queueName, spawn } = setup(FAST)
    const w = spawn()
    await w.waitFor(isMsg('ready'), 'ready')
    await producer.enqueue({ id: 'draining', name: 'n', data: { holdMs: 800 } })
    await w.waitFor(isMsg('active', 'draining'), 'draining active')
    w.kill('SIGTERM')
    expect(await w.exited).toEqual({ code: 0, signal: null })
    const types = w.messages.map((m) => `${m.type}${m.id ? `:${m.id}` : ''}`)
    expect(types.slice(-2)).toEqual(['done:draining', 'closed'])
    // Nothing left to re-deliver: a fresh consumer with fast stalled checks sees no job.
    const seen: ActiveJob[] = []
    const watcher = createBullMQQueue({ url: redis.url, queueName, lockDuration: 1000, stalledInterval: 500 })
    queues.push(watcher)
    await watcher.process(async (job) => {
      seen.push(job)
    })
    await producer.enqueue({ id: 'marker', name: 'n', data: null, delayMs: 1500 })
    await waitFor(() => seen.some((j) => j.id === 'marker'), 'marker', 15_000)
    expect(seen.map((j) => j.id)).toEqual(['marker'])
  })
})
