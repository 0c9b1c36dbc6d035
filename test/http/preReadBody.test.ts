// A body that the app's own middleware read before leanflow's route: Express's `express.json()`
// mounted first, a Hono middleware that called `c.req.json()`. The request gets the same answer
// as without that middleware: the run starts with the same input (an empty body: no input, not
// `{}`), a bad body is the usual 400, and nothing answers 500 for a body already read.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { createAdaptorServer } from '@hono/node-server'
import { createMemoryStreamStore, type EventRecord } from '@leanflow/core'
import { createHandler } from '@leanflow/http'
import { toExpressHandler } from '@leanflow/http/express'
import { toHonoHandler } from '@leanflow/http/hono'
import { createRunner, defineFlow } from '@leanflow/runner'
import express from 'express'
import { Hono } from 'hono'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const store = createMemoryStreamStore()
const echo = defineFlow({ name: 'echo', steps: { a: { handler: async (input) => input ?? null } } })
const runner = createRunner({ store, flows: [echo] })
const reported: unknown[] = []
const handler = createHandler({ store, runner, onError: (err) => reported.push(err) })

/** A server whose middleware reads every POST body before leanflow's route sees it. */
function readingFirst(kind: 'express' | 'hono'): http.Server {
  if (kind === 'express') {
    const app = express()
    app.use(express.json())
    app.use('/flows', toExpressHandler(handler))
    return http.createServer(app)
  }
  const app = new Hono()
  app.use('*', async (c, next) => {
    if (c.req.method === 'POST') await c.req.json().catch(() => undefined)
    await next()
  })
  const leanflow = toHonoHandler(handler)
  app.all('/flows', leanflow)
  app.all('/flows/*', leanflow)
  return createAdaptorServer({ fetch: app.fetch }) as http.Server
}

/** The input the run answered by `res` was started with (its flow.started). */
async function inputOf(res: Response): Promise<unknown> {
  const { runId } = (await res.json()) as { runId: string }
  const [first] = (await store.read(runId, { limit: 1 })) as EventRecord[]
  return (first?.data as { input?: unknown } | undefined)?.input
}

beforeAll(() => runner.start())
afterAll(() => runner.stop())

for (const kind of ['express', 'hono'] as const) {
  describe(`a body read by middleware first [${kind}]`, () => {
    let server: http.Server
    let origin = ''
    beforeAll(async () => {
      server = readingFirst(kind)
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
      origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    })
    afterAll(() => {
      server.close()
      server.closeAllConnections()
    })
    const post = (body?: string) =>
      fetch(`${origin}/flows/echo/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })

    it('starts the run with the input it was sent; an empty body is no input', async () => {
      reported.length = 0
      const direct = await handler(
        new Request('http://x/flows/echo/runs', { method: 'POST', headers: { 'content-type': 'application/json' } }),
      )
      const none = await inputOf(direct)
      for (const body of [undefined, '']) {
        const res = await post(body)
        expect(res.status, JSON.stringify(body)).toBe(201)
        expect(await inputOf(res)).toEqual(none)
      }
      // (express.json() refuses a top-level string or null itself, with its own 400)
      for (const input of kind === 'express' ? [{ a: 1 }, [1, 2]] : [{ a: 1 }, [1, 2], 'ann', null]) {
        const res = await post(JSON.stringify(input))
        expect(res.status, `${JSON.stringify(input)}: ${await res.clone().text()}`).toBe(201)
        expect(await inputOf(res)).toEqual(input)
      }
      expect(reported).toEqual([])
    })

    if (kind === 'hono') {
      it('a body that is no JSON is 400 INVALID_ARGUMENT, a text/plain one 415: never 500', async () => {
        reported.length = 0
        const bad = await post('{bad')
        expect(bad.status).toBe(400)
        expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('INVALID_ARGUMENT')
        const plain = await fetch(`${origin}/flows/echo/runs`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{}' })
        expect(plain.status).toBe(415)
        expect(reported).toEqual([])
      })
    }
  })
}

describe("a body whose read by middleware failed, kept so in Hono's cache [hono]", () => {
  // as Hono versions that cache the parsed JSON keep a body that is no JSON: a rejected `json`
  const app = new Hono()
  app.use('*', async (c, next) => {
    if (c.req.method === 'POST') {
      await c.req.raw.arrayBuffer()
      const failed = Promise.reject(new SyntaxError('Unexpected token b in JSON at position 1'))
      failed.catch(() => {})
      c.req.bodyCache.json = failed
    }
    await next()
  })
  app.all('/flows/*', toHonoHandler(handler))
  let server: http.Server
  let origin = ''
  beforeAll(async () => {
    server = createAdaptorServer({ fetch: app.fetch }) as http.Server
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(() => {
    server.close()
    server.closeAllConnections()
  })

  it("is answered in the handler's order: 415 for text/plain, 400 INVALID_ARGUMENT for JSON; nothing started, never 500", async () => {
    reported.length = 0
    const runs = (await store.countRuns?.('echo'))?.runs
    const plain = await fetch(`${origin}/flows/echo/runs`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{bad' })
    expect(plain.status).toBe(415)
    const bad = await fetch(`${origin}/flows/echo/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{bad' })
    expect(bad.status).toBe(400)
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('INVALID_ARGUMENT')
    expect((await store.countRuns?.('echo'))?.runs).toBe(runs)
    expect(reported).toEqual([])
  })
})
