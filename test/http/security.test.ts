// authorize (actions, params, order), body limits (413 before reading further), trigger
// signatures (good, bad, stale, missing → 401) and malformed JSON, through the handler
// in-process and real servers. Runner calls go to `routingStubRunner`, a structural stub that
// only records what reached it: these are routing/order tests; runner behaviour is tested
// with the real runner in runner.test.ts.
import http from 'node:http'
import { createMemoryStreamStore, type StreamStore } from '@leanflow/core'
import { type Authorize, createHandler, type HandlerAction, type HandlerRunner, type RouteParams, signTrigger } from '@leanflow/http'
import { beforeAll, beforeEach, expect, it } from 'vitest'
import { describeMatrix, errorOf } from '../helpers/httpMatrix.js'

const SECRET = 'whsec_test_secret'
const LIMIT = 64 * 1024

const base = createMemoryStreamStore()
let storeCalls = 0
/** The real memory store, counting every call (to prove authorize runs before any store access). */
const store = new Proxy(base, {
  get(target, key, receiver) {
    const v = Reflect.get(target, key, receiver)
    if (typeof v !== 'function') return v
    return (...args: unknown[]) => {
      storeCalls++
      return (v as (...a: unknown[]) => unknown).apply(target, args)
    }
  },
}) as StreamStore

const runnerCalls: Array<{ method: string; args: unknown[] }> = []
/** Structural stub: records calls; used only for routing, order and signature-gate tests. */
const routingStubRunner: HandlerRunner = {
  flows: [{ name: 'order' }],
  async startFlow(...args) {
    runnerCalls.push({ method: 'startFlow', args })
    return { runId: 'stub-run' }
  },
  async cancel(...args) {
    runnerCalls.push({ method: 'cancel', args })
  },
  async resolveTrigger(...args) {
    runnerCalls.push({ method: 'resolveTrigger', args })
    return { runId: 'stub-run', step: 'approve' }
  },
  async publishEvent(...args) {
    runnerCalls.push({ method: 'publishEvent', args })
    return { id: '1-0' }
  },
}

const seen: Array<{ action: HandlerAction; params: RouteParams; storeCallsAtAuthorize: number }> = []
let verdict: boolean | Response = true
const authorize: Authorize = (_req, action, params) => {
  seen.push({ action, params, storeCallsAtAuthorize: storeCalls })
  return verdict
}

beforeAll(async () => {
  await base.append('r1', { kind: 'flow.started', flow: 'r1', data: { name: 'order', input: null, steps: {} } })
})
beforeEach(() => {
  seen.length = 0
  runnerCalls.length = 0
  verdict = true
})

const post = (body: string, headers: Record<string, string> = {}): RequestInit => ({
  method: 'POST',
  body,
  headers: { 'content-type': 'application/json', ...headers },
})

describeMatrix(
  'authorize and limits',
  () => createHandler({ store, runner: routingStubRunner, authorize, triggerSecret: SECRET, maxBodyBytes: LIMIT }),
  (t) => {
    it('gives every route its action and params, before any store access', async () => {
      const cases: Array<[string, string, HandlerAction, RouteParams]> = [
        ['GET', '/flows', 'flows.list', {}],
        ['GET', '/flows/order/runs', 'runs.list', { flow: 'order' }],
        ['GET', '/flows/order/counts', 'runs.list', { flow: 'order' }],
        ['POST', '/flows/order/runs', 'runs.start', { flow: 'order' }],
        ['GET', '/flows/runs/r1', 'runs.read', { runId: 'r1' }],
        ['GET', '/flows/runs/r1/events', 'runs.read', { runId: 'r1' }],
        ['GET', '/flows/runs/r1/stream', 'runs.stream', { runId: 'r1' }],
        ['POST', '/flows/runs/r1/cancel', 'runs.cancel', { runId: 'r1' }],
        ['POST', '/flows/triggers/tr1', 'triggers.resolve', { triggerId: 'tr1' }],
        ['POST', '/flows/events', 'events.publish', {}],
      ]
      verdict = false
      for (const [method, path, action, params] of cases) {
        const before = storeCalls
        const res = await t().fetch(path, method === 'POST' ? post('{}') : { method })
        expect(res.status, path).toBe(403)
        expect((await errorOf(res)).code).toBe('FORBIDDEN')
        expect(seen.at(-1)).toEqual({ action, params, storeCallsAtAuthorize: before })
        expect(storeCalls, path).toBe(before)
      }
      expect(runnerCalls).toEqual([])
    })

    it('sends a Response from authorize as is', async () => {
      verdict = new Response('{"error":{"code":"UNAUTHORIZED","message":"log in"}}', {
        status: 401,
        headers: { 'www-authenticate': 'Bearer' },
      })
      const res = await t().fetch('/flows')
      expect(res.status).toBe(401)
      expect(res.headers.get('www-authenticate')).toBe('Bearer')
    })

    it('checks route and names before authorize (404, 405, 400 without calling it)', async () => {
      expect((await t().fetch('/flows/nope/a/b')).status).toBe(404)
      expect((await t().fetch('/flows/runs/r1', { method: 'DELETE' })).status).toBe(405)
      expect((await t().fetch('/flows/runs/a%3Ab')).status).toBe(400)
      expect(seen).toEqual([])
    })

    it('authorize comes before body size; body size before signature; signature before JSON', async () => {
      verdict = false
      const big = 'x'.repeat(LIMIT + 1)
      expect((await t().fetch('/flows/events', post(big))).status).toBe(403)
      verdict = true
      const tooBig = await t().fetch('/flows/triggers/tr1', post(big, { 'leanflow-signature': 'garbage' }))
      expect(tooBig.status).toBe(413)
      expect((await errorOf(tooBig)).code).toBe('PAYLOAD_TOO_LARGE')
      const badSigBadJson = await t().fetch('/flows/triggers/tr1', post('{not json', { 'leanflow-signature': 'garbage' }))
      expect(badSigBadJson.status).toBe(401)
      const goodSigBadJson = await t().fetch(
        '/flows/triggers/tr1',
        post('{not json', { 'leanflow-signature': await signTrigger(SECRET, '{not json') }),
      )
      expect(goodSigBadJson.status).toBe(400)
      expect((await errorOf(goodSigBadJson)).code).toBe('INVALID_ARGUMENT')
      expect(runnerCalls).toEqual([])
    })

    it('trigger signatures: good → 200 once; bad, stale, future, missing, malformed, other body → 401', async () => {
      const body = JSON.stringify({ approved: true })
      const now = Math.floor(Date.now() / 1000)
      const ok = await t().fetch('/flows/triggers/tr1', post(body, { 'leanflow-signature': await signTrigger(SECRET, body) }))
      expect(ok.status).toBe(200)
      expect(await ok.json()).toEqual({ runId: 'stub-run', step: 'approve' })
      expect(runnerCalls).toEqual([{ method: 'resolveTrigger', args: ['tr1', { approved: true }] }])
      const bad: Record<string, string | undefined> = {
        wrongSecret: await signTrigger('another-secret', body),
        stale: await signTrigger(SECRET, body, now - 330),
        future: await signTrigger(SECRET, body, now + 330),
        missing: undefined,
        malformed: 't=abc,v1=xyz',
        noMac: `t=${now}`,
        otherBody: await signTrigger(SECRET, JSON.stringify({ approved: false })),
      }
      for (const [name, header] of Object.entries(bad)) {
        const res = await t().fetch('/flows/triggers/tr1', post(body, header === undefined ? {} : { 'leanflow-signature': header }))
        expect(res.status, name).toBe(401)
        expect((await errorOf(res)).code, name).toBe('UNAUTHORIZED')
      }
      expect(runnerCalls).toHaveLength(1)
      const within = await t().fetch(
        '/flows/triggers/tr1',
        post(body, { 'leanflow-signature': await signTrigger(SECRET, body, now - 250) }),
      )
      expect(within.status).toBe(200)
    })

    it('malformed JSON and bad bodies are 400, never 500', async () => {
      for (const [path, body] of [
        ['/flows/events', '{"kind":'],
        ['/flows/events', '[1,2]'],
        ['/flows/events', '{"kind":"bad kind"}'],
        ['/flows/events', '{"kind":"__proto__","data":1}'],
        ['/flows/order/runs', '{"a":'],
        ['/flows/runs/r1/cancel', '{"reason":42}'],
      ] as const) {
        const res = await t().fetch(path, post(body))
        expect(res.status, `${path} ${body}`).toBe(400)
        expect(['INVALID_ARGUMENT', 'INVALID_NAME']).toContain((await errorOf(res)).code)
      }
      const bytes = new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])
      const res = await t().fetch('/flows/events', { method: 'POST', body: bytes, headers: { 'content-type': 'application/json' } })
      expect(res.status).toBe(400)
      expect(runnerCalls).toEqual([])
    })

    it('POST /events without a kind is 400 INVALID_ARGUMENT naming the field; a bad kind is INVALID_NAME', async () => {
      for (const body of ['{}', '{"data":{"orderId":"o-1"}}', '{"kind":null}']) {
        const res = await t().fetch('/flows/events', post(body))
        expect(res.status, body).toBe(400)
        const err = await errorOf(res)
        expect(err.code, body).toBe('INVALID_ARGUMENT')
        expect(err.message, body).toMatch(/"kind"/)
      }
      const bad = await t().fetch('/flows/events', post('{"kind":"bad kind"}'))
      expect((await errorOf(bad)).code).toBe('INVALID_NAME')
      expect(runnerCalls).toEqual([])
    })

    it('passes __proto__ keys through as plain data (no pollution)', async () => {
      const body = '{"kind":"payment.confirmed","data":{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}}'
      const res = await t().fetch('/flows/events', post(body, { 'idempotency-key': 'k-1' }))
      expect(res.status).toBe(202)
      expect(({} as Record<string, unknown>).polluted).toBeUndefined()
      const call = runnerCalls[0]
      expect(call?.method).toBe('publishEvent')
      const [event, opts] = (call?.args ?? []) as [{ kind: string; data: Record<string, unknown> }, unknown]
      expect(Object.hasOwn(event.data, '__proto__')).toBe(true)
      expect(opts).toEqual({ idempotencyKey: 'k-1' })
      const badKey = await t().fetch('/flows/events', post('{"kind":"a"}', { 'idempotency-key': 'has space' }))
      expect(badKey.status).toBe(400)
      // the message quotes the key and says which rule it breaks
      expect((await errorOf(badKey)).message).toContain('"has space" is invalid: it has a space at character 4')
      const long = await t().fetch('/flows/events', post('{"kind":"a"}', { 'idempotency-key': 'k'.repeat(257) }))
      expect((await errorOf(long)).message).toContain('it has 257 characters')
      // cancel and trigger resolution are idempotent by themselves: a key changes nothing there,
      // but a malformed one is refused as on every route, before anything is done
      const calls = runnerCalls.length
      // (a trigger's signature first: an unsigned call is told 401, a signed one 400 for the key)
      const signature = await signTrigger(SECRET, '{}')
      for (const [path, headers] of [
        ['/flows/runs/r1/cancel', {}],
        ['/flows/triggers/tr1', { 'leanflow-signature': signature }],
      ] as const) {
        const res = await t().fetch(path, post('{}', { 'idempotency-key': 'has space', ...headers }))
        expect(res.status, path).toBe(400)
        expect((await errorOf(res)).message, path).toContain('"has space" is invalid')
      }
      const unsigned = await t().fetch('/flows/triggers/tr1', post('{}', { 'idempotency-key': 'has space' }))
      expect(unsigned.status).toBe(401)
      expect(runnerCalls.length).toBe(calls)
    })
  },
)

describeMatrix(
  'body limit on the wire',
  () => createHandler({ store, runner: routingStubRunner, maxBodyBytes: LIMIT }),
  (t) => {
    it('a declared Content-Length over the limit is refused with 413 before the body is sent', async () => {
      const url = new URL('/flows/events', t().origin)
      const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = http.request(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-length': String(10 * LIMIT) },
        })
        req.on('response', (res) => {
          let text = ''
          res.on('data', (c: Buffer) => {
            text += c.toString()
          })
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }))
          res.on('error', reject)
        })
        req.on('error', reject)
        req.write('{"kind":"a","data":"') // and never the rest
      })
      expect(status).toBe(413)
      expect(JSON.parse(body).error.code).toBe('PAYLOAD_TOO_LARGE')
      expect(runnerCalls).toEqual([])
    })

    it('a 413 closes the connection: the unread rest of the body is not waited for (Hono and h3 kept it open)', async () => {
      const url = new URL('/flows/events', t().origin)
      const agent = new http.Agent({ keepAlive: true })
      try {
        const { connection, closed } = await new Promise<{ connection: string | undefined; closed: Promise<void> }>((resolve, reject) => {
          const req = http.request(url, {
            agent,
            method: 'POST',
            headers: { 'content-type': 'application/json', 'content-length': String(10 * LIMIT) },
          })
          req.on('response', (res) => {
            res.resume()
            const socket = req.socket
            const closed = new Promise<void>((done) => (socket?.destroyed ? done() : socket?.once('close', () => done())))
            res.on('end', () => resolve({ connection: res.headers.connection, closed }))
          })
          req.on('error', reject)
          req.write('{"kind":"a","data":"') // and never the rest
        })
        expect(connection).toBe('close')
        let timer: NodeJS.Timeout | undefined
        const outcome = await Promise.race([
          closed.then(() => 'closed'),
          new Promise((done) => {
            timer = setTimeout(() => done('still open after 2 s'), 2_000)
          }),
        ])
        clearTimeout(timer)
        expect(outcome).toBe('closed')
      } finally {
        agent.destroy()
      }
    })

    it('a chunked body is counted while read and cut past the limit (413)', async () => {
      const url = new URL('/flows/events', t().origin)
      let sent = 0
      const status = await new Promise<number>((resolve, reject) => {
        const req = http.request(url, { method: 'POST', headers: { 'content-type': 'application/json' } })
        let stop = false
        req.on('response', (res) => {
          stop = true
          res.resume()
          resolve(res.statusCode ?? 0)
        })
        req.on('error', (err) => (stop ? undefined : reject(err)))
        const chunk = 'x'.repeat(8 * 1024)
        const pump = () => {
          while (!stop && sent < 100 * LIMIT) {
            sent += chunk.length
            if (!req.write(chunk)) return void req.once('drain', pump)
          }
        }
        pump()
      })
      expect(status).toBe(413)
      expect(sent).toBeLessThan(100 * LIMIT)
    })
  },
  ['node', 'express', 'hono', 'h3'],
)

it('in process: the body stream is canceled past the limit, not read to its end', async () => {
  const handler = createHandler({ store, runner: routingStubRunner, maxBodyBytes: LIMIT })
  let pulled = 0
  let canceled = false
  const body = new ReadableStream<Uint8Array>({
    pull(c) {
      pulled += 4096
      c.enqueue(new Uint8Array(4096).fill(0x20))
    },
    cancel() {
      canceled = true
    },
  })
  const res = await handler(
    new Request('http://x/flows/events', {
      method: 'POST',
      body,
      duplex: 'half',
      headers: { 'content-type': 'application/json' },
    } as RequestInit),
  )
  expect(res.status).toBe(413)
  expect(canceled).toBe(true)
  expect(pulled).toBeLessThan(LIMIT + 64 * 1024)
})
