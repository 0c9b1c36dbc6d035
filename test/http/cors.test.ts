// The opt-in `cors` option of createHandler, header by header, through the handler in-process
// and real servers (node:http, Express, Hono, h3): preflights for allowed and other origins
// (authorize is not asked), the headers on answers (errors and SSE included), credentials,
// `'*'`, a function, no `cors` at all, and the option's validation. A real browser on another
// origin is in test/browser/cors.test.ts.
import { createMemoryStreamStore, type MemoryStreamStore } from '@leanflow/core'
import { type CorsOptions, createHandler, type HandlerAction, type HandlerRunner } from '@leanflow/http'
import { beforeAll, describe, expect, it } from 'vitest'
import { describeMatrix, errorOf, readSse } from '../helpers/httpMatrix.js'

const APP = 'http://app.example:5173'
const OTHER = 'http://evil.example'

let store: MemoryStreamStore
const asked: HandlerAction[] = []
/** Records what reached it (header and routing tests; runner behaviour is tested elsewhere). */
const started: unknown[] = []
const routingStubRunner: HandlerRunner = {
  flows: [{ name: 'order' }],
  async startFlow(_name, input) {
    started.push(input)
    return { runId: 'stub-run' }
  },
  async cancel() {},
  async resolveTrigger() {
    return { runId: 'stub-run', step: 'approve' }
  },
  async publishEvent() {
    return { id: '1-0' }
  },
}

beforeAll(async () => {
  store = createMemoryStreamStore()
  await store.append('r1', { kind: 'flow.started', flow: 'r1', data: { name: 'order', input: null, steps: {} } })
  await store.append('r1', { kind: 'flow.completed', flow: 'r1', data: { duration: 1 } })
})

const handlerWith = (cors: CorsOptions | undefined) => () =>
  createHandler({
    store,
    runner: routingStubRunner,
    cors,
    authorize: (req, action) => {
      asked.push(action)
      return req.headers.get('x-deny') === null
    },
  })

const preflight = (origin: string, method: string, headers = 'content-type'): RequestInit => ({
  method: 'OPTIONS',
  headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': headers },
})
const json = (origin: string, body: unknown, type = 'application/json'): RequestInit => ({
  method: 'POST',
  headers: { origin, 'content-type': type },
  body: JSON.stringify(body),
})
const listOf = (value: string | null) => (value ?? '').split(',').map((s) => s.trim().toLowerCase())

describeMatrix(
  'cors with a list of origins',
  handlerWith({ origin: [APP], maxAge: 120, allowHeaders: ['X-Tenant'], exposeHeaders: ['X-Request-Id'] }),
  (t) => {
    it('a preflight from an allowed origin is 204 with methods, headers and max age; authorize is not asked', async () => {
      asked.length = 0
      const res = await t().fetch('/flows/order/runs', preflight(APP, 'POST', 'content-type,idempotency-key,x-tenant'))
      expect(res.status).toBe(204)
      expect(res.headers.get('access-control-allow-origin')).toBe(APP)
      expect(res.headers.get('access-control-allow-credentials')).toBeNull()
      expect(listOf(res.headers.get('access-control-allow-methods'))).toEqual(['get', 'post'])
      expect(listOf(res.headers.get('access-control-allow-headers'))).toEqual(
        expect.arrayContaining(['content-type', 'authorization', 'idempotency-key', 'last-event-id', 'leanflow-signature', 'x-tenant']),
      )
      expect(res.headers.get('access-control-max-age')).toBe('120')
      expect(listOf(res.headers.get('vary'))).toContain('origin')
      const stream = await t().fetch('/flows/runs/r1/stream', preflight(APP, 'GET', 'last-event-id'))
      expect(stream.status).toBe(204)
      expect(listOf(stream.headers.get('access-control-allow-methods'))).toEqual(['get'])
      expect(asked).toEqual([])
    })

    it('a preflight from another origin is 403 without CORS headers; wrong method 405; unknown path 404', async () => {
      const other = await t().fetch('/flows/order/runs', preflight(OTHER, 'POST'))
      expect(other.status).toBe(403)
      expect(other.headers.get('access-control-allow-origin')).toBeNull()
      const error = await errorOf(other)
      expect(error.code).toBe('FORBIDDEN')
      expect(error.message).toContain(OTHER)
      const method = await t().fetch('/flows/runs/r1', preflight(APP, 'DELETE'))
      expect(method.status).toBe(405)
      expect(method.headers.get('allow')).toBe('GET')
      expect(method.headers.get('access-control-allow-origin')).toBeNull()
      expect((await t().fetch('/flows/nope/a/b', preflight(APP, 'GET'))).status).toBe(404)
      // an OPTIONS that is not a preflight is not served
      expect((await t().fetch('/flows/order/runs', { method: 'OPTIONS' })).status).toBe(405)
    })

    it('answers to an allowed origin carry its CORS headers (errors and SSE too); others only Vary', async () => {
      started.length = 0
      const ok = await t().fetch('/flows/order/runs', json(APP, { n: 1 }))
      expect(ok.status).toBe(201)
      expect(ok.headers.get('access-control-allow-origin')).toBe(APP)
      expect(listOf(ok.headers.get('access-control-expose-headers'))).toEqual(
        expect.arrayContaining(['retry-after', 'allow', 'x-request-id']),
      )
      expect(listOf(ok.headers.get('vary'))).toContain('origin')
      const refused = await t().fetch('/flows/order/runs', json(APP, { n: 2 }, 'text/plain'))
      expect(refused.status).toBe(415)
      expect(refused.headers.get('access-control-allow-origin')).toBe(APP)
      const denied = await t().fetch('/flows/runs/r1', { headers: { origin: APP, 'x-deny': '1' } })
      expect(denied.status).toBe(403)
      expect(denied.headers.get('access-control-allow-origin')).toBe(APP)
      const sse = await t().fetch('/flows/runs/r1/stream', { headers: { origin: APP } })
      expect(sse.headers.get('content-type')).toMatch(/^text\/event-stream/)
      expect(sse.headers.get('access-control-allow-origin')).toBe(APP)
      const frames = []
      for await (const f of readSse(sse)) frames.push(f)
      expect(frames.at(-1)?.event).toBe('end')
      // another origin: the request is answered (authorize decides what it may do) but a browser hides it
      const other = await t().fetch('/flows/order/runs', json(OTHER, { n: 3 }))
      expect(other.status).toBe(201)
      expect(other.headers.get('access-control-allow-origin')).toBeNull()
      expect(listOf(other.headers.get('vary'))).toContain('origin')
      // no Origin (same origin, curl): no CORS headers
      expect((await t().fetch('/flows/runs/r1')).headers.get('access-control-allow-origin')).toBeNull()
      expect(started).toEqual([{ n: 1 }, { n: 3 }])
    })
  },
)

describeMatrix(
  'cors with credentials and a function',
  handlerWith({ origin: (o) => o.endsWith('.example:5173'), credentials: true }),
  (t) => {
    it('names the origin and allows credentials', async () => {
      const pre = await t().fetch('/flows/events', preflight(APP, 'POST'))
      expect(pre.status).toBe(204)
      expect(pre.headers.get('access-control-allow-origin')).toBe(APP)
      expect(pre.headers.get('access-control-allow-credentials')).toBe('true')
      const res = await t().fetch('/flows/runs/r1', { headers: { origin: APP } })
      expect(res.headers.get('access-control-allow-origin')).toBe(APP)
      expect(res.headers.get('access-control-allow-credentials')).toBe('true')
      expect((await t().fetch('/flows/events', preflight(OTHER, 'POST'))).status).toBe(403)
    })
  },
)

describeMatrix("cors with origin '*'", handlerWith({ origin: '*' }), (t) => {
  it('answers * to any origin, without credentials', async () => {
    const pre = await t().fetch('/flows/events', preflight(OTHER, 'POST'))
    expect(pre.status).toBe(204)
    expect(pre.headers.get('access-control-allow-origin')).toBe('*')
    expect(pre.headers.get('access-control-allow-credentials')).toBeNull()
    const res = await t().fetch('/flows/runs/r1', { headers: { origin: OTHER } })
    expect(res.headers.get('access-control-allow-origin')).toBe('*')
  })
})

describeMatrix('no cors option', handlerWith(undefined), (t) => {
  it('serves no preflight (405) and sends no CORS headers', async () => {
    const pre = await t().fetch('/flows/order/runs', preflight(APP, 'POST'))
    expect(pre.status).toBe(405)
    expect(pre.headers.get('access-control-allow-origin')).toBeNull()
    const res = await t().fetch('/flows/runs/r1', { headers: { origin: APP } })
    expect(res.status).toBe(200)
    expect(res.headers.get('access-control-allow-origin')).toBeNull()
  })
})

describe('the cors option is checked when the handler is made', () => {
  const make = (cors: unknown) => () => createHandler({ store, cors: cors as CorsOptions })
  it.each([
    [{ origin: ['https://app.example.com/'] }, 'https://app.example.com/'],
    [{ origin: ['https://app.example.com/path'] }, 'https://app.example.com/path'],
    [{ origin: ['app.example.com'] }, 'app.example.com'],
    [{ origin: ['*'] }, "origin: '*'"],
    [{ origin: '*', credentials: true }, 'credentials'],
    [{ origin: [APP], maxAge: -1 }, 'maxAge'],
    [{ origin: [APP], allowHeaders: ['bad header'] }, 'bad header'],
    [{ origin: 42 }, 'cors.origin'],
  ])('%j is INVALID_ARGUMENT naming %s', (cors, named) => {
    expect(make(cors)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringContaining(named) }))
  })
})
