import { createBullMQQueue } from '@leanflow/bullmq'
import { isLeanflowError } from '@leanflow/core'
import { describe, expect, it } from 'vitest'
import { freePort, useRedisServer } from '../helpers/redisServer.js'
import { waitFor } from '../helpers/waitFor.js'

const redis = useRedisServer({ client: true }) // ioredis defaults: maxRetriesPerRequest 20

const code = (fn: () => unknown) => {
  try {
    fn()
  } catch (err) {
    return isLeanflowError(err) ? err.code : `not a LeanflowError: ${err}`
  }
  return 'no throw'
}

describe('createBullMQQueue', () => {
  it('needs exactly one of url or connection, and positive timings', () => {
    expect(code(() => createBullMQQueue({}))).toBe('INVALID_ARGUMENT')
    expect(code(() => createBullMQQueue({ url: redis.url, connection: redis.client }))).toBe('INVALID_ARGUMENT')
    expect(code(() => createBullMQQueue({ url: redis.url, lockDuration: 0 }))).toBe('INVALID_ARGUMENT')
    expect(code(() => createBullMQQueue({ url: redis.url, stalledInterval: Number.NaN }))).toBe('INVALID_ARGUMENT')
  })

  it('refuses a queue name BullMQ refuses (a ":", empty, not a string) or a prefix that is no string with INVALID_ARGUMENT naming it, never a raw BullMQ error', () => {
    const message = (fn: () => unknown) => {
      try {
        fn()
      } catch (err) {
        return isLeanflowError(err) ? `${err.code} ${err.message}` : `not a LeanflowError: ${err}`
      }
      return 'no throw'
    }
    expect(message(() => createBullMQQueue({ url: redis.url, queueName: 'a:b' }))).toMatch(/^INVALID_ARGUMENT .*queueName "a:b"/)
    expect(message(() => createBullMQQueue({ connection: redis.client, queueName: 'a:b' }))).toMatch(/^INVALID_ARGUMENT .*queueName "a:b"/)
    expect(message(() => createBullMQQueue({ url: redis.url, queueName: '' }))).toMatch(/^INVALID_ARGUMENT .*queueName ""/)
    expect(message(() => createBullMQQueue({ url: redis.url, queueName: 5 as unknown as string }))).toMatch(
      /^INVALID_ARGUMENT .*queueName 5/,
    )
    expect(message(() => createBullMQQueue({ url: redis.url, prefix: 5 as unknown as string }))).toMatch(/^INVALID_ARGUMENT .*prefix 5/)
    expect(message(() => createBullMQQueue({ url: redis.url, prefix: '' }))).toMatch(/^INVALID_ARGUMENT .*prefix "".*non-empty/)
  })

  it('refuses empty ids and bad delays with INVALID_ARGUMENT', async () => {
    const q = createBullMQQueue({ url: redis.url, queueName: 'bad-input' })
    try {
      await expect(q.enqueue({ id: '', name: 'n', data: null })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
      await expect(q.enqueue({ id: 'x', name: 'n', data: null, delayMs: -1 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
      await expect(q.enqueue({ id: 'x', name: 'n', data: null, delayMs: Number.POSITIVE_INFINITY })).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      })
    } finally {
      await q.close()
    }
  })

  it('shares an ioredis connection (default maxRetriesPerRequest) and leaves it open on close', async () => {
    const q = createBullMQQueue({ connection: redis.client, queueName: 'shared', prefix: 'myapp' })
    const seen: string[] = []
    await q.process(async (job) => {
      seen.push(job.id)
    })
    await q.enqueue({ id: 'via:shared', name: 'n', data: null, delayMs: 50 })
    await waitFor(() => seen.length === 1, 'job on the shared connection', 15_000)
    expect(seen).toEqual(['via:shared'])
    // Keys live under the prefix and queue name.
    const keys = await redis.client.keys('*')
    expect(keys.length).toBeGreaterThan(0)
    for (const k of keys) expect(k.startsWith('myapp:shared:')).toBe(true)
    await q.close()
    expect(await redis.client.ping()).toBe('PONG')
  })

  it('stores encoded ids: no ":" and never integer-like, under the default prefix', async () => {
    const q = createBullMQQueue({ url: redis.url })
    try {
      await q.enqueue({ id: '42', name: 'n', data: null, delayMs: 60_000 })
      await q.enqueue({ id: 'run:step', name: 'n', data: null, delayMs: 60_000 })
      const delayed = await redis.client.zrange('lfq:leanflow:delayed', 0, -1)
      expect(delayed.sort()).toEqual(['j42', 'jrun%3Astep'])
      await q.remove('42')
      await q.remove('run:step')
      expect(await redis.client.zcard('lfq:leanflow:delayed')).toBe(0)
    } finally {
      await q.close()
    }
  })

  it('a job that throws again and again keeps its last few stack traces, not one per delivery (a handed-back job loops until a worker takes it)', async () => {
    const q = createBullMQQueue({ url: redis.url, queueName: 'traces', backoff: { delayMs: 1, maxDelayMs: 1 } })
    let deliveries = 0
    try {
      await q.process(
        async () => {
          deliveries++
          throw new Error(`not yet (${deliveries})`)
        },
        { concurrency: 1 },
      )
      await q.enqueue({ id: 'loop', name: 'n', data: null })
      await waitFor(async () => deliveries >= 12, '12 deliveries', 20_000)
      const traces = JSON.parse((await redis.client.hget('lfq:traces:jloop', 'stacktrace')) ?? '[]') as string[]
      expect(traces.length).toBeGreaterThan(0)
      expect(traces.length).toBeLessThanOrEqual(3)
      expect(traces.at(-1)).toMatch(/not yet/)
    } finally {
      await q.close()
    }
  })

  it("a handler error's redeliverAfterMs is the delay of the job's next delivery, instead of the backoff", async () => {
    // a minute's backoff: only the error's own 100 ms brings the job back within the wait
    const q = createBullMQQueue({ url: redis.url, queueName: 'hinted', backoff: { delayMs: 60_000, maxDelayMs: 60_000 } })
    const at: number[] = []
    try {
      await q.process(
        async (job) => {
          at.push(Date.now())
          if (job.deliveries < 2) throw Object.assign(new Error('not yet'), { redeliverAfterMs: 100 })
        },
        { concurrency: 1 },
      )
      await q.enqueue({ id: 'hinted', name: 'n', data: null })
      await waitFor(() => at.length === 3, 'three deliveries', 20_000)
      // not before the delay asked (the worker looks for due jobs every second at the most)
      for (let i = 1; i < at.length; i++) expect((at[i] as number) - (at[i - 1] as number)).toBeGreaterThanOrEqual(90)
    } finally {
      await q.close()
    }
  })

  it('close() while process() is still connecting closes that worker too: process() rejects, no job runs after close', async () => {
    for (const [name, url] of [
      ['closing-ready', redis.url],
      ['closing-db', `${redis.url}/1`], // closed while the database index is checked
    ] as const) {
      const q = createBullMQQueue({ url, queueName: name })
      const ran: string[] = []
      const processing = q.process(async (job) => {
        ran.push(job.id)
      })
      await q.close()
      await expect(processing, name).rejects.toMatchObject({
        code: 'STORE_UNAVAILABLE',
        message: expect.stringMatching(/is closed \(close\(\) was called\)/),
      })
      const producer = createBullMQQueue({ url, queueName: name })
      try {
        await producer.enqueue({ id: 'after-close', name: 'n', data: null })
        await new Promise((r) => setTimeout(r, 300))
        expect(ran, name).toEqual([])
      } finally {
        await producer.close()
      }
    }
  })

  it('a call after close() is STORE_UNAVAILABLE (503 over HTTP, as a closed store), naming the queue and the fix', async () => {
    const q = createBullMQQueue({ url: redis.url, queueName: 'closed-calls' })
    await q.close()
    for (const call of [() => q.enqueue({ id: 'j', name: 'n', data: null }), () => q.remove('j'), () => q.process(async () => {})]) {
      await expect(call()).rejects.toMatchObject({
        code: 'STORE_UNAVAILABLE',
        message:
          'The BullMQ queue "closed-calls" is closed (close() was called): create a new one with createBullMQQueue(), and close it only once you are done with it.',
      })
    }
  })

  it('close() while process() waits for an unreachable Redis returns at once, and process() rejects', async () => {
    const q = createBullMQQueue({ url: `redis://127.0.0.1:${await freePort()}`, queueName: 'unreachable', onError: () => {} })
    const processing = q.process(async () => {})
    processing.catch(() => {})
    await new Promise((r) => setTimeout(r, 100))
    const started = Date.now()
    await q.close()
    expect(Date.now() - started).toBeLessThan(1000)
    await expect(processing).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' })
  }, 5000)

  it('refuses a concurrency that is no whole number above 0 with INVALID_ARGUMENT naming it, as the memory queue does', async () => {
    const q = createBullMQQueue({ url: redis.url, queueName: 'bad-concurrency' })
    try {
      for (const concurrency of [0.5, 1.5, 0, -1]) {
        await expect(
          q.process(async () => {}, { concurrency }),
          String(concurrency),
        ).rejects.toMatchObject({
          code: 'INVALID_ARGUMENT',
          message: expect.stringContaining(`concurrency ${concurrency}`),
        })
      }
    } finally {
      await q.close()
    }
  })
})
