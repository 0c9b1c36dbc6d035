// The server's own failures reach the operator, not the caller (docs/security.md, "What reaches
// the client"; docs/http.md, Errors): a driver error the store did not type is 500 INTERNAL
// with the fixed message and goes to onError; 503 STORE_UNAVAILABLE and 507 STORE_FULL keep
// their codes, with a fixed message (the store's own names Redis's address and reply) and go
// to onError. Before, a LeanflowError `INTERNAL` from the store was sent as it was (the raw
// `WRONGTYPE …` or `NOPERM …` reply, never reaching onError), the SSE route closed with
// `: INTERNAL` and nothing logged, and the 503 body named the Redis URL. Real redis-server,
// real node:http server and fetch.
import { isLeanflowError } from '@leanflow/core'
import { createHandler } from '@leanflow/http'
import { createRedisStreamStore, type RedisStreamStore } from '@leanflow/redis'
import { createRunner, defineFlow } from '@leanflow/runner'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { collectSse, errorOf, type RunningServer, startServer } from '../helpers/httpMatrix.js'
import { freePort, useRedisServer } from '../helpers/redisServer.js'

const echo = defineFlow({ name: 'echo', steps: { noop: { handler: async (input) => input ?? null } } })
const post = (body: unknown): RequestInit => ({
  method: 'POST',
  body: JSON.stringify(body),
  headers: { 'content-type': 'application/json' },
})
const FIXED_INTERNAL = 'Internal server error: the failure was reported to the server log.'

/** A node:http server of `store`'s handler; what went to onError. */
async function serve(store: RedisStreamStore): Promise<{ server: RunningServer; reported: unknown[] }> {
  const reported: unknown[] = []
  const runner = createRunner({ store, flows: [echo], onError: () => {} })
  const server = await startServer('node', createHandler({ store, runner, retryMs: 40, onError: (err) => reported.push(err) }))
  return { server, reported }
}

describe('on a real redis-server', () => {
  const redis = useRedisServer({ client: true })
  let store: RedisStreamStore
  let server: RunningServer
  let reported: unknown[]
  beforeAll(async () => {
    store = createRedisStreamStore({ url: redis.url, prefix: 'se' })
    ;({ server, reported } = await serve(store))
    // a key of the wrong type where a run's log belongs: the store's reads fail with WRONGTYPE
    await redis.client.set('se:{wrongtype}:events', 'x')
  })
  afterAll(async () => {
    await server?.stop()
    await store?.close()
  })
  beforeEach(() => {
    reported.length = 0
  })

  it('a driver error the store did not type is 500 INTERNAL with the fixed message, and goes to onError', async () => {
    for (const path of ['/flows/runs/wrongtype', '/flows/runs/wrongtype/events']) {
      const before = reported.length
      const res = await fetch(`${server.origin}${path}`)
      expect(res.status, path).toBe(500)
      const error = await errorOf(res)
      expect(error, path).toEqual({ code: 'INTERNAL', message: FIXED_INTERNAL })
      expect(reported.length, path).toBe(before + 1)
      const err = reported.at(-1)
      expect(isLeanflowError(err, 'INTERNAL'), path).toBe(true)
      expect((err as Error).message, path).toMatch(/WRONGTYPE/)
    }
  })

  it('an SSE stream whose store fails unexpectedly gets retry: without details, and the error goes to onError', async () => {
    const res = await fetch(`${server.origin}/flows/runs/wrongtype/stream`)
    expect(res.status).toBe(200)
    const text = await res.text()
    expect(text).not.toMatch(/WRONGTYPE/)
    const frames = await collectSse(new Response(text))
    expect(frames.find((f) => f.retry !== undefined)?.retry).toBe(200)
    expect(frames.filter((f) => f.id !== undefined)).toEqual([])
    expect(reported.some((e) => isLeanflowError(e, 'INTERNAL') && /WRONGTYPE/.test((e as Error).message))).toBe(true)
  })

  it("507 STORE_FULL keeps its code with a fixed message, not Redis's reply; the error goes to onError", async () => {
    try {
      await redis.client.config('SET', 'maxmemory', '1')
      const res = await fetch(`${server.origin}/flows/echo/runs`, post({ n: 1 }))
      expect(res.status).toBe(507)
      const error = await errorOf(res)
      expect(error.code).toBe('STORE_FULL')
      expect(error.message).not.toMatch(/OOM|maxmemory|redis/i)
      expect(error.message).toMatch(/nothing was written/)
      expect(reported.some((e) => isLeanflowError(e, 'STORE_FULL') && /OOM/.test((e as Error).message))).toBe(true)
    } finally {
      await redis.client.config('SET', 'maxmemory', '0')
    }
  })
})

it("503 STORE_UNAVAILABLE keeps its code and Retry-After, without Redis's address; the error goes to onError", async () => {
  const port = await freePort()
  const store = createRedisStreamStore({ url: `redis://someone:s3cret@127.0.0.1:${port}/3`, commandTimeout: '300ms' })
  const { server, reported } = await serve(store)
  try {
    for (const [path, init] of [
      ['/flows/runs/r1', undefined],
      ['/flows/echo/runs', post({ n: 1 })],
    ] as const) {
      const before = reported.length
      const res = await fetch(`${server.origin}${path}`, init)
      expect(res.status, path).toBe(503)
      expect(res.headers.get('retry-after'), path).toBe('2')
      const error = await errorOf(res)
      expect(error.code, path).toBe('STORE_UNAVAILABLE')
      expect(error.message, path).not.toContain(String(port))
      expect(error.message, path).not.toMatch(/someone|127\.0\.0\.1|ECONNREFUSED/)
      expect(reported.length, path).toBe(before + 1)
      expect(isLeanflowError(reported.at(-1), 'STORE_UNAVAILABLE'), path).toBe(true)
    }
  } finally {
    await server.stop()
    await store.close()
  }
})
