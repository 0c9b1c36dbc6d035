// F21 and F22 for the BullMQ queue (real redis-servers): `enqueue` at maxmemory rejects with
// STORE_FULL (Redis's OOM reply as cause); with redis-server SIGSTOPped it rejects with
// STORE_UNAVAILABLE in bounded time instead of waiting through BullMQ's reconnects; once Redis
// is back, the same id enqueued again runs exactly once on a worker started before. A start whose
// queue refuses its first jobs is refused whole: no run is written (none left `running` forever).
import { createBullMQQueue } from '@leanflow/bullmq'
import { createMemoryStreamStore, isLeanflowError, type JobQueue } from '@leanflow/core'
import { createRunner, defineFlow } from '@leanflow/runner'
import { afterAll, describe, expect, it } from 'vitest'
import { useRedisServer } from '../helpers/redisServer.js'
import { waitFor } from '../helpers/waitFor.js'

const redis = useRedisServer({ client: true })
const queues: JobQueue[] = []

afterAll(async () => {
  redis.thaw()
  await Promise.all(queues.map((q) => q.close()))
})

const queue = (queueName: string) => {
  const q = createBullMQQueue({ url: redis.url, queueName, onError: () => {} })
  queues.push(q)
  return q
}

describe('BullMQ queue: store errors', () => {
  it('F21: enqueue at maxmemory rejects with STORE_FULL; the same id succeeds once memory frees', async () => {
    const q = queue('full')
    await q.enqueue({ id: 'warm', name: 'n', data: {} }) // connections and scripts loaded first
    const used = Number(/used_memory:(\d+)/.exec(await redis.client.info('memory'))?.[1])
    await redis.client.config('SET', 'maxmemory', String(used + 64 * 1024))
    let err: unknown
    let refusedId = ''
    try {
      for (let i = 0; i < 500 && err === undefined; i++) {
        refusedId = `fill:${i}`
        await q.enqueue({ id: refusedId, name: 'n', data: { pad: 'p'.repeat(2048) } }).catch((e: unknown) => {
          err = e
        })
      }
    } finally {
      await redis.client.config('SET', 'maxmemory', '0')
    }
    expect(isLeanflowError(err, 'STORE_FULL'), `a typed STORE_FULL, got ${String(err)}`).toBe(true)
    expect((err as Error).cause).toMatchObject({ name: 'ReplyError', message: expect.stringMatching(/^OOM /) })
    expect((err as Error).message).toContain(`enqueue("${refusedId}")`)
    await q.enqueue({ id: refusedId, name: 'n', data: {} })
  })

  it('F22: with Redis unreachable, enqueue rejects with STORE_UNAVAILABLE in bounded time; afterwards the job runs once', async () => {
    const q = queue('outage')
    const done: string[] = []
    const worker = await q.process(async (job) => {
      done.push(job.id)
    })
    try {
      await q.enqueue({ id: 'before', name: 'n', data: {} })
      await waitFor(() => done.includes('before'), 'the job enqueued before the outage', 15_000)
      redis.freeze()
      const t0 = Date.now()
      let err: unknown
      try {
        const hung = new Promise((r) => setTimeout(() => r('hung for 10 s'), 10_000).unref())
        err = await Promise.race([q.enqueue({ id: 'during', name: 'n', data: {} }).catch((e: unknown) => e), hung])
      } finally {
        redis.thaw()
      }
      expect(err).toMatchObject({ code: 'STORE_UNAVAILABLE', status: 503 })
      expect(Date.now() - t0).toBeLessThan(10_000)
      // the first add may still be applied now that Redis answers: the retry with the same id is one job
      await q.enqueue({ id: 'during', name: 'n', data: {} })
      await q.enqueue({ id: 'after', name: 'n', data: {} })
      await waitFor(() => done.includes('during') && done.includes('after'), 'the jobs enqueued after the outage', 30_000)
      await q.enqueue({ id: 'sentinel', name: 'n', data: {} })
      await waitFor(() => done.includes('sentinel'), 'a job enqueued after the retried one', 30_000)
      expect(done.filter((id) => id === 'during')).toEqual(['during'])
    } finally {
      await worker.close()
    }
  }, 60_000)

  it('a start whose queue refuses its first jobs (Redis at maxmemory) is refused with STORE_FULL and writes no run; once memory frees, a start runs', async () => {
    const store = createMemoryStreamStore()
    let ran = 0
    const flow = defineFlow({ name: 'refused', steps: { only: { handler: async () => ++ran } } })
    const runner = createRunner({ store, queue: queue('refusing'), flows: [flow], onError: () => {} })
    await runner.start()
    try {
      const warm = await runner.startFlow('refused', {})
      expect(await runner.result(warm.runId, { timeout: '10s' })).toEqual({ only: 1 })
      await redis.client.config('SET', 'maxmemory', '1')
      let err: unknown
      try {
        err = await runner.startFlow('refused', { n: 2 }).catch((e: unknown) => e)
      } finally {
        await redis.client.config('SET', 'maxmemory', '0')
      }
      expect(isLeanflowError(err, 'STORE_FULL'), `a typed STORE_FULL, got ${String(err)}`).toBe(true)
      // nothing half-written: no run (before, the run stayed `running` with nothing queued)
      expect((await store.listRuns('refused')).map((r) => r.runId)).toEqual([warm.runId])
      const again = await runner.startFlow('refused', { n: 3 })
      expect(await runner.result(again.runId, { timeout: '10s' })).toEqual({ only: 2 })
      expect(ran).toBe(2)
    } finally {
      await runner.stop()
      await store.close()
    }
  }, 30_000)
})
