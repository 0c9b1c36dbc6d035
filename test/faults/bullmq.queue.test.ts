/**
 * The BullMQ queue across real processes: separate producer and workers,
 * a worker SIGKILLed mid-job (stalled recovery), SIGTERM drains, a worker
 * closed after its Redis shut down cleanly.
 */
import { createBullMQQueue } from '@leanflow/bullmq'
import type { ActiveJob, JobQueue } from '@leanflow/core'
import { sleep } from '@leanflow/testing'
import { Redis } from 'ioredis'
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

  it('F18/F22 (queue): a worker closed after a clean SHUTDOWN of its Redis returns, and its running job runs again after the restart', async () => {
    const server = await startRedis({ appendonly: true })
    try {
      const errors: Error[] = []
      const fast = { lockDuration: 1000, stalledInterval: 300, commandTimeout: 300 }
      const queue = createBullMQQueue({ url: server.url, ...fast, onError: (err) => errors.push(err) })
      queues.push(queue)
      let release = () => {}
      const held = new Promise<void>((resolve) => {
        release = resolve
      })
      const started: string[] = []
      const worker = await queue.process(async (job) => {
        started.push(job.id)
        await held
      })
      await queue.enqueue({ id: 'held', name: 'n', data: null })
      await waitFor(() => started.length > 0, 'the job running')
      const admin = new Redis(server.url, { maxRetriesPerRequest: 0, retryStrategy: () => null })
      admin.on('error', () => {})
      await admin.call('SHUTDOWN', 'NOSAVE').catch(() => {}) // the server closes the connection: no reply
      admin.disconnect()
      // the worker's connections are reconnecting (ioredis 5 then never ends one on disconnect)
      await waitFor(() => errors.some((err) => /ECONNREFUSED/.test(err.message)), 'the queue trying to reconnect')
      const closing = worker.close()
      setTimeout(release, 100) // the handler ends after the shutdown: Redis cannot record it
      const outcome = await Promise.race([closing.then(() => 'closed'), sleep(3000).then(() => 'still closing')])
      expect(outcome).toBe('closed')
      expect(errors.map((e) => e.message)).toContainEqual(expect.stringMatching(/no answer from Redis within 300 ms.*as it closed/))
      // an enqueue Redis never answered leaves a command queued: the queue's close returns all the same
      await expect(queue.enqueue({ id: 'lost', name: 'n', data: null })).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' })
      expect(await Promise.race([queue.close().then(() => 'closed'), sleep(3000).then(() => 'still closing')])).toBe('closed')
      // the job whose end Redis never recorded is handed back by the stalled check once Redis is back
      await server.restart()
      const again = createBullMQQueue({ url: server.url, ...fast, onError: () => {} })
      queues.push(again)
      const redelivered: ActiveJob[] = []
      await again.process(async (job) => {
        redelivered.push(job)
      })
      await waitFor(() => redelivered.length > 0, 'the held job again', 10_000)
      expect(redelivered.map((j) => [j.id, j.deliveries])).toEqual([['held', 1]])
    } finally {
      // bounded: a close that hangs (the defect) must fail this test, not the hook's timeout
      await Promise.race([Promise.all(queues.splice(0).map((q) => q.close())), sleep(2000)])
      await server.stop()
    }
  })
})
