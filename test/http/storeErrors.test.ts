// Store failures over HTTP (issue 11 items 3 and 4): a store that cannot be reached answers 503
// STORE_UNAVAILABLE with Retry-After, a full store 507 STORE_FULL, as JSON; an SSE stream never
// answers a 5xx (EventSource would give up): before its headers it asks the client to come back
// later, and a follow that fails mid-stream ends with a longer `retry:`, so EventSource
// reconnects with Last-Event-ID and misses nothing. The faults are LeanflowErrors thrown by the
// real memory store wrapped by the test (the codes the stores throw); the last case fills a real
// redis-server (maxmemory) and expects 507 from the Redis store's own error.
import { createMemoryStreamStore, type ErrorCode, LeanflowError, type MemoryStreamStore } from '@leanflow/core'
import { createHandler } from '@leanflow/http'
import { createRedisStreamStore, type RedisStreamStore } from '@leanflow/redis'
import { createRunner, defineFlow, type Runner } from '@leanflow/runner'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { collectSse, describeMatrix, errorOf, recordSse, startServer } from '../helpers/httpMatrix.js'
import { useRedisServer } from '../helpers/redisServer.js'
import { waitFor } from '../helpers/waitFor.js'

const echo = defineFlow({ name: 'echo', steps: { noop: { handler: async (input) => input ?? null } } })
const started = (runId: string) => ({ kind: 'flow.started', flow: runId, data: { name: 'faulty', input: null, steps: {} } })
const note = (runId: string, i: number) => ({ kind: 'user.note', flow: runId, data: { i } })
const done = (runId: string) => ({ kind: 'flow.completed', flow: runId, data: { duration: 1 } })
const post = (body: unknown): RequestInit => ({
  method: 'POST',
  body: JSON.stringify(body),
  headers: { 'content-type': 'application/json' },
})

const base: MemoryStreamStore = createMemoryStreamStore()
/** The code every store call fails with while set (as a store throws it: a LeanflowError). */
let fault: ErrorCode | undefined
/** Runs whose next follow yields one event, then fails with STORE_UNAVAILABLE. */
const breakFollowOf = new Set<string>()
/** Store calls refused while `fault` was set. */
let refused = 0
const streamErrors: unknown[] = []

const store = new Proxy(base, {
  get(target, key, receiver) {
    const v = Reflect.get(target, key, receiver)
    if (typeof v !== 'function' || key === 'close') return v
    if (key === 'follow') {
      return (runId: string, opts: { after?: string; signal?: AbortSignal }) => {
        const inner = target.follow(runId, opts)[Symbol.asyncIterator]()
        if (!breakFollowOf.delete(runId)) return { [Symbol.asyncIterator]: () => inner }
        let n = 0
        return {
          [Symbol.asyncIterator]: () => ({
            next: () =>
              n++ < 1
                ? inner.next()
                : Promise.reject(new LeanflowError('STORE_UNAVAILABLE', 'The store did not answer within 5000 ms (test fault).')),
            return: () => inner.return?.() ?? Promise.resolve({ done: true as const, value: undefined }),
          }),
        }
      }
    }
    return (...args: unknown[]) => {
      if (fault !== undefined) {
        refused++
        return Promise.reject(new LeanflowError(fault, `The store refused the call (${fault}, test fault).`))
      }
      return (v as (...a: unknown[]) => unknown).apply(target, args)
    }
  },
}) as MemoryStreamStore

let runner: Runner
beforeAll(() => {
  runner = createRunner({ store, flows: [echo], onError: () => {} })
})
beforeEach(() => {
  fault = undefined
})

describeMatrix(
  'store errors',
  () => createHandler({ store, runner, retryMs: 40, onError: (err) => streamErrors.push(err) }),
  (t) => {
    const id = (name: string) => `${name}-${t().transport}`

    it('STORE_UNAVAILABLE is 503 JSON with Retry-After on every route; STORE_FULL is 507 without it', async () => {
      await base.append(id('r'), started(id('r')))
      fault = 'STORE_UNAVAILABLE'
      const calls: Array<[string, RequestInit | undefined]> = [
        ['/flows', undefined],
        ['/flows/echo/runs', undefined],
        [`/flows/runs/${id('r')}`, undefined],
        [`/flows/runs/${id('r')}/events`, undefined],
        ['/flows/echo/runs', post({ n: 1 })],
        ['/flows/events', post({ kind: 'payment.confirmed', data: {} })],
      ]
      for (const [path, init] of calls) {
        const res = await t().fetch(path, init)
        expect(res.status, path).toBe(503)
        expect(res.headers.get('content-type')).toMatch(/^application\/json/)
        const retryAfter = Number(res.headers.get('retry-after'))
        expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 5, `${path} retry-after ${retryAfter}`).toBe(true)
        expect((await errorOf(res)).code, path).toBe('STORE_UNAVAILABLE')
      }
      fault = 'STORE_FULL'
      for (const [path, init] of [calls[4], calls[5]] as Array<[string, RequestInit]>) {
        const res = await t().fetch(path, init)
        expect(res.status, path).toBe(507)
        expect(res.headers.get('retry-after'), path).toBeNull()
        expect((await errorOf(res)).code, path).toBe('STORE_FULL')
      }
    })

    it('an SSE stream whose store is down before its headers gets 200, a longer retry: and closes (no 5xx)', async () => {
      await base.append(id('down'), started(id('down')))
      fault = 'STORE_UNAVAILABLE'
      const res = await t().fetch(`/flows/runs/${id('down')}/stream`)
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/)
      const frames = await collectSse(res)
      expect(frames.filter((f) => f.id !== undefined)).toEqual([])
      expect(frames.find((f) => f.retry !== undefined)?.retry).toBe(200)
    })

    it('a follow that fails mid-stream ends the stream with a longer retry: after the events it sent', async () => {
      const runId = id('mid')
      const first = (await base.append(runId, started(runId))).id
      breakFollowOf.add(runId)
      const res = await t().fetch(`/flows/runs/${runId}/stream`)
      expect(res.status).toBe(200)
      const frames = await collectSse(res) // to the end of the body
      expect(frames.filter((f) => f.id !== undefined).map((f) => f.id)).toEqual([first])
      expect(frames.at(-1)?.retry).toBe(200)
      expect(frames.some((f) => f.event === 'reset' || f.event === 'end')).toBe(false)
    })

    it('EventSource comes back after the store was down and after a follow failed mid-stream, missing nothing', async () => {
      const runId = id('heal')
      const ids = [(await base.append(runId, started(runId))).id, (await base.append(runId, note(runId, 0))).id]
      fault = 'STORE_UNAVAILABLE'
      const refusedBefore = refused
      const es = t().eventSource(`/flows/runs/${runId}/stream`)
      const seen = recordSse(es)
      try {
        // the first attempts find the store down; EventSource keeps trying (it would stop on a 5xx)
        await waitFor(() => refused >= refusedBefore + 2, 'two refused attempts')
        breakFollowOf.add(runId)
        fault = undefined
        await waitFor(() => seen.ids.length >= 1, 'the first event')
        // that follow failed after one event: the client reconnects with Last-Event-ID and gets the rest
        for (let i = 1; i <= 3; i++) ids.push((await base.append(runId, note(runId, i))).id)
        ids.push((await base.append(runId, done(runId))).id)
        await waitFor(() => seen.ended, 'end after the reconnect')
        expect(seen.ids).toEqual(ids)
        expect(es.readyState).toBe(2)
        expect(streamErrors.some((e) => e instanceof LeanflowError && e.code === 'STORE_UNAVAILABLE')).toBe(true)
      } finally {
        es.close()
      }
    })
  },
)

describe('on a full redis-server', () => {
  const redis = useRedisServer({ client: true })
  let redisStore: RedisStreamStore
  beforeAll(() => {
    redisStore = createRedisStreamStore({ url: redis.url, prefix: 'full' })
  })
  afterAll(async () => {
    await redisStore?.close()
  })

  it('POST /:flow/runs and POST /events answer 507 STORE_FULL at maxmemory, and work again once memory frees', async () => {
    const redisRunner = createRunner({ store: redisStore, flows: [echo], onError: () => {} })
    const server = await startServer('node', createHandler({ store: redisStore, runner: redisRunner, onError: () => {} }))
    try {
      expect((await fetch(`${server.origin}/flows/echo/runs`, post({ n: 0 }))).status).toBe(201)
      await redis.client.config('SET', 'maxmemory', '1')
      for (const [path, body] of [
        ['/flows/echo/runs', { n: 1 }],
        ['/flows/events', { kind: 'payment.confirmed', data: { n: 1 } }],
      ] as const) {
        const res = await fetch(`${server.origin}${path}`, post(body))
        expect(res.status, path).toBe(507)
        expect((await errorOf(res)).code, path).toBe('STORE_FULL')
      }
      await redis.client.config('SET', 'maxmemory', '0')
      expect((await fetch(`${server.origin}/flows/echo/runs`, post({ n: 2 }))).status).toBe(201)
    } finally {
      await redis.client.config('SET', 'maxmemory', '0')
      await server.stop()
    }
  })
})
