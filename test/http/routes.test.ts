// Every store-only route of @leanflow/http, through the handler in-process and through
// real servers (node:http, Express, Hono, h3) on port 0, against the memory store.
import { request } from 'node:http'
import { createMemoryStreamStore, type EventRecord, type MemoryStreamStore, type StreamStore } from '@leanflow/core'
import { createHandler } from '@leanflow/http'
import { createRunner, defineFlow } from '@leanflow/runner'
import { beforeAll, expect, it } from 'vitest'
import { describeMatrix, errorOf } from '../helpers/httpMatrix.js'
import { waitFor } from '../helpers/waitFor.js'

let store: StreamStore
let first: EventRecord
let last: EventRecord
const streamErrors: Array<{ err: unknown; url: string; method: string }> = []

async function seed(s: StreamStore): Promise<void> {
  const started = (runId: string) =>
    s.append(runId, { kind: 'flow.started', flow: runId, data: { name: 'order', input: { n: runId }, steps: { charge: { needs: [] } } } })
  first = await started('r1')
  await s.append('r1', { kind: 'step.started', flow: 'r1', step: 'charge', data: {}, meta: { attempt: 1 } })
  await s.append('r1', { kind: 'step.completed', flow: 'r1', step: 'charge', data: { result: 42, duration: 3 } })
  last = await s.append('r1', { kind: 'flow.completed', flow: 'r1', data: { result: { charge: 42 }, duration: 5 } })
  await new Promise((r) => setTimeout(r, 5))
  await started('r2')
  await s.append('other-run', {
    kind: 'flow.started',
    flow: 'other-run',
    data: { name: 'invoice', input: null, steps: {} },
  })
  // a run waiting for admission (flow control)
  await s.append('q1', { kind: 'flow.started', flow: 'q1', data: { name: 'sync', input: { n: 1 }, steps: { call: { needs: [] } } } })
  await s.append('q1', { kind: 'flow.queued', flow: 'q1', data: { reason: 'concurrency', key: 'tenant-1' } })
}

beforeAll(async () => {
  store = createMemoryStreamStore()
  await seed(store)
})

const json = async (res: Response) => (await res.json()) as Record<string, unknown>

describeMatrix(
  'store-only routes',
  () => createHandler({ store }),
  (t) => {
    it('GET / lists flows with their run counts (one trailing slash ignored)', async () => {
      for (const path of ['/flows', '/flows/']) {
        const res = await t().fetch(path)
        expect(res.status).toBe(200)
        expect(res.headers.get('content-type')).toMatch(/^application\/json/)
        const body = await json(res)
        expect(body.flows).toEqual(
          expect.arrayContaining([
            { flow: 'order', runs: 2 },
            { flow: 'invoice', runs: 1 },
          ]),
        )
      }
    })

    it('GET /:flow/runs lists runs newest first, with limit and status', async () => {
      const all = (await json(await t().fetch('/flows/order/runs'))).runs as Array<{ runId: string; status: string }>
      expect(all.map((r) => r.runId)).toEqual(['r2', 'r1'])
      const one = (await json(await t().fetch('/flows/order/runs?limit=1'))).runs as unknown[]
      expect(one).toHaveLength(1)
      const done = (await json(await t().fetch('/flows/order/runs?status=completed'))).runs as Array<{ runId: string }>
      expect(done.map((r) => r.runId)).toEqual(['r1'])
      const none = (await json(await t().fetch('/flows/nothing-here/runs'))).runs
      expect(none).toEqual([])
      const queued = (await json(await t().fetch('/flows/sync/runs?status=queued'))).runs as Array<{ runId: string; status: string }>
      expect(queued.map((r) => [r.runId, r.status])).toEqual([['q1', 'queued']])
      const state = (await json(await t().fetch('/flows/runs/q1'))).state as { status: string; queued: unknown }
      expect(state).toMatchObject({ status: 'queued', queued: { reason: 'concurrency', key: 'tenant-1' } })
    })

    it('GET /:flow/runs refuses bad query parameters with 400 INVALID_ARGUMENT', async () => {
      for (const q of ['limit=0', 'limit=abc', 'limit=-1', 'limit=1.5', 'before=x', 'status=bogus']) {
        const res = await t().fetch(`/flows/order/runs?${q}`)
        expect(res.status, q).toBe(400)
        expect((await errorOf(res)).code).toBe('INVALID_ARGUMENT')
      }
    })

    it('GET /runs/:runId reduces the run on the server', async () => {
      const res = await t().fetch('/flows/runs/r1')
      expect(res.status).toBe(200)
      const body = (await res.json()) as {
        state: { status: string; result: unknown; steps: Record<string, { status: string }> }
        lastEventId: string
      }
      expect(body.lastEventId).toBe(last.id)
      expect(body.state.status).toBe('completed')
      expect(body.state.result).toEqual({ charge: 42 })
      expect(body.state.steps.charge?.status).toBe('completed')
    })

    it('GET /runs/:runId/events pages with after, limit and direction', async () => {
      const all = (await json(await t().fetch('/flows/runs/r1/events'))).events as EventRecord[]
      expect(all.map((e) => e.kind)).toEqual(['flow.started', 'step.started', 'step.completed', 'flow.completed'])
      const after = (await json(await t().fetch(`/flows/runs/r1/events?after=${first.id}&limit=2`))).events as EventRecord[]
      expect(after.map((e) => e.kind)).toEqual(['step.started', 'step.completed'])
      const back = (await json(await t().fetch('/flows/runs/r1/events?direction=backward&limit=1'))).events as EventRecord[]
      expect(back.map((e) => e.id)).toEqual([last.id])
      const empty = await t().fetch(`/flows/runs/r1/events?after=${last.id}`)
      expect(empty.status).toBe(200)
      expect((await json(empty)).events).toEqual([])
    })

    it('GET /runs/:runId/events refuses a bad position, limit or direction', async () => {
      for (const q of ['after=abc', 'after=1-2-3', 'limit=100000', 'direction=sideways']) {
        const res = await t().fetch(`/flows/runs/r1/events?${q}`)
        expect(res.status, q).toBe(400)
        expect((await errorOf(res)).code).toBe('INVALID_ARGUMENT')
      }
    })

    it('unknown runs are 404 RUN_NOT_FOUND on every read route', async () => {
      for (const path of ['/flows/runs/nope', '/flows/runs/nope/events', '/flows/runs/nope/stream']) {
        const res = await t().fetch(path)
        expect(res.status, path).toBe(404)
        expect((await errorOf(res)).code).toBe('RUN_NOT_FOUND')
      }
    })

    it('hostile names are 400 INVALID_NAME (F17), never 500', async () => {
      const paths = [
        '/flows/runs/a%3Ab',
        '/flows/runs/a%7Bb%7D/events',
        '/flows/runs/a%2Ab/stream',
        '/flows/runs/line%0Abreak',
        '/flows/runs/__proto__',
        '/flows/runs/%20x',
        '/flows/a%3Ab/runs',
        '/flows/__proto__/runs',
        '/flows/constructor%00/runs',
        `/flows/runs/${'x'.repeat(129)}`,
        // malformed percent-encoding: h3 answers it itself before routing (see docs/adapters/h3.md)
        ...(t().transport === 'h3' ? [] : ['/flows/runs/%E0%A4%A']),
      ]
      for (const path of paths) {
        const res = await t().fetch(path)
        expect(res.status, path).toBe(400)
        expect((await errorOf(res)).code, path).toBe('INVALID_NAME')
      }
    })

    it('unknown paths are 404 NOT_FOUND; wrong methods 405 with Allow', async () => {
      for (const path of ['/flows/runs', '/flows/runs/r1/nope', '/flows/a/b/c/d', '/flows/order']) {
        const res = await t().fetch(path)
        expect(res.status, path).toBe(404)
        expect((await errorOf(res)).code).toBe('NOT_FOUND')
      }
      const del = await t().fetch('/flows/runs/r1', { method: 'DELETE' })
      expect(del.status).toBe(405)
      expect(del.headers.get('allow')).toBe('GET')
      expect((await errorOf(del)).code).toBe('METHOD_NOT_ALLOWED')
      const put = await t().fetch('/flows/order/runs', { method: 'PUT', body: '{}' })
      expect(put.status).toBe(405)
      expect(put.headers.get('allow')).toBe('GET, POST')
      // TRACE, which no fetch can send nor a Web Request carry: 405 too, not a 500 (node, express)
      if (t().transport !== 'handler') {
        const trace = await rawRequest(`${t().origin}/flows/order/runs`, 'TRACE')
        expect(trace.status).toBe(405)
        expect(trace.allow).toBe('GET, POST')
        expect(JSON.parse(trace.body).error.code).toBe('METHOD_NOT_ALLOWED')
      }
    })

    it('routes that need a runner answer 404 without one', async () => {
      const calls: Array<[string, string]> = [
        ['POST', '/flows/order/runs'],
        ['POST', '/flows/runs/r1/cancel'],
        ['POST', '/flows/triggers/abc'],
        ['POST', '/flows/events'],
      ]
      for (const [method, path] of calls) {
        const res = await t().fetch(path, { method, body: '{}', headers: { 'content-type': 'application/json' } })
        expect(res.status, path).toBe(404)
        expect((await errorOf(res)).code).toBe('NOT_FOUND')
      }
    })
  },
)

describeMatrix(
  'unexpected errors',
  () => {
    const broken: StreamStore = Object.create(store) as StreamStore
    broken.listFlows = async () => {
      throw new Error('secret-connection-string redis://admin:hunter2@db')
    }
    return createHandler({ store: broken, onError: () => {} })
  },
  (t) => {
    it('an unknown error is a 500 that leaks nothing', async () => {
      const res = await t().fetch('/flows')
      expect(res.status).toBe(500)
      const text = await res.text()
      expect(text).not.toMatch(/hunter2|secret/)
      expect(JSON.parse(text)).toEqual({ error: { code: 'INTERNAL', message: expect.any(String) } })
    })
  },
)

describeMatrix(
  'a stream whose follow fails',
  () => {
    const broken: StreamStore = Object.create(store) as StreamStore
    broken.follow = (runId, opts) => {
      const inner = store.follow(runId, opts)[Symbol.asyncIterator]()
      let n = 0
      return {
        [Symbol.asyncIterator]: () => ({
          next: () => (n++ < 1 ? inner.next() : Promise.reject(new Error('follow broke'))),
          return: () => inner.return?.() ?? Promise.resolve({ done: true as const, value: undefined }),
        }),
      }
    }
    streamErrors.length = 0
    return createHandler({ store: broken, onError: (err, req) => streamErrors.push({ err, url: req.url, method: req.method }) })
  },
  (t) => {
    it('ends the stream and reports the error with a Request for the stream', async () => {
      const runId = `broken-follow-${t().transport}`
      await store.append(runId, { kind: 'flow.started', flow: runId, data: { name: 'b', input: null, steps: {} } })
      const res = await t().fetch(`/flows/runs/${runId}/stream?after=0-0`)
      expect(res.status).toBe(200)
      const text = await res.text() // the stream closes after the one event it got
      expect(text).toContain('"kind":"flow.started"')
      await waitFor(() => streamErrors.some((e) => String(e.url).endsWith(`/flows/runs/${runId}/stream?after=0-0`)), 'onError')
      const e = streamErrors.find((x) => String(x.url).includes(runId))
      expect(e === undefined ? undefined : (e.err as Error).message).toBe('follow broke')
      expect(e?.method).toBe('GET')
    })
  },
)

/** A request with any method (fetch refuses TRACE), over node:http: its status, Allow and body. */
function rawRequest(url: string, method: string): Promise<{ status: number; allow: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => {
        body += c
      })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, allow: res.headers.allow, body }))
    })
    req.on('error', reject)
    req.end()
  })
}

describeMatrix(
  'GET / with a runner',
  () => {
    const runner = createRunner({
      store: store as MemoryStreamStore,
      flows: [
        defineFlow({ name: 'order', steps: { a: { handler: () => 1 } } }),
        defineFlow({ name: 'fresh', steps: { a: { handler: () => 1 } } }),
      ],
    })
    return createHandler({ store, runner })
  },
  (t) => {
    it('lists each registered flow, one without runs with runs 0 (after those the store counts)', async () => {
      const body = (await (await t().fetch('/flows')).json()) as { flows: Array<{ flow: string; runs: number }> }
      expect(body.flows.filter((f) => f.flow === 'order')).toEqual([{ flow: 'order', runs: 2 }])
      expect(body.flows.at(-1)).toEqual({ flow: 'fresh', runs: 0 })
      expect(body.flows).toEqual(expect.arrayContaining([{ flow: 'invoice', runs: 1 }]))
    })
  },
)
