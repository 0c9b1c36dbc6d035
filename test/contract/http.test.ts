// Black-box checks of @leanflow/http against DESIGN.md ("HTTP"): a real node:http server on port 0, real fetch.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { createMemoryStreamStore, type EventRecord, type FlowState, type MemoryStreamStore } from '@leanflow/core'
import { createHandler, type HandlerOptions, signTrigger } from '@leanflow/http'
import { watchRun } from '@leanflow/http/client'
import { toNodeHandler } from '@leanflow/http/node'
import { createRunner, defineFlow, type Runner } from '@leanflow/runner'
import { EventSource } from 'eventsource'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

let clockOffset = 0
const store: MemoryStreamStore = createMemoryStreamStore({ retention: '1h', now: () => Date.now() + clockOffset })
let lastTrigger = ''
const flow = defineFlow({
  name: 'order',
  steps: {
    approve: {
      handler: async (_i, ctx) => {
        const t = await ctx.await.trigger({ type: 'webhook' })
        lastTrigger = t.id
        return await t.wait()
      },
    },
  },
})
const runner: Runner = createRunner({ store, flows: [flow] })
const servers: http.Server[] = []

async function serve(opts: Partial<HandlerOptions> = {}): Promise<string> {
  const server = http.createServer(toNodeHandler(createHandler({ store, runner, retryMs: 50, ...opts })))
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  servers.push(server)
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

let base = ''
beforeAll(async () => {
  base = `${await serve()}/flows`
  await runner.start()
})
afterAll(async () => {
  await runner.stop()
  for (const s of servers) s.closeAllConnections()
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))))
  await store.close()
})

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })

async function expectError(res: Response, status: number, code: string) {
  expect(res.status, `${res.url} ${code}`).toBe(status)
  expect(res.headers.get('content-type')).toMatch(/^application\/json/)
  const body = (await res.json()) as { error: { code: string; message: string } }
  expect(body).toEqual({ error: { code, message: expect.any(String) } })
}

type Frame = { id?: string; event?: string; data?: string; retry?: string }
async function frames(res: Response): Promise<Frame[]> {
  const text = await res.text()
  return text
    .split(/\n\n/)
    .filter((block) => block.trim() !== '')
    .map((block) => {
      const f: Frame = {}
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) continue
        const i = line.indexOf(':')
        const field = (i < 0 ? line : line.slice(0, i)) as keyof Frame
        const value = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '')
        f[field] = field === 'data' && f.data !== undefined ? `${f.data}\n${value}` : value
      }
      return f
    })
}

async function finishedRun(): Promise<{ runId: string; log: EventRecord[] }> {
  const { runId } = (await (await post(`${base}/order/runs`, { n: 1 })).json()) as { runId: string }
  for (let i = 0; i < 200 && !(await store.read(runId)).some((e) => e.kind === 'step.await.trigger'); i++)
    await new Promise((r) => setTimeout(r, 10))
  const res = await post(`${base}/triggers/${lastTrigger}`, { ok: true })
  expect(await res.json()).toEqual({ runId, step: 'approve' })
  for (let i = 0; i < 200 && (await store.read(runId)).at(-1)?.kind !== 'flow.completed'; i++) await new Promise((r) => setTimeout(r, 10))
  return { runId, log: await store.read(runId) }
}

describe('routes, statuses and bodies', () => {
  it('GET / lists flows; basePath ignores one trailing slash', async () => {
    await post(`${base}/order/runs`, {})
    const a = await (await fetch(base)).json()
    expect(a).toEqual({ flows: [{ flow: 'order', runs: expect.any(Number) }] })
    expect(await (await fetch(`${base}/`)).json()).toEqual(a)
    const other = await serve({ basePath: '/api/' })
    expect((await fetch(`${other}/api/`)).status).toBe(200)
    expect((await fetch(`${other}/api`)).status).toBe(200)
  })

  it('POST /:flow/runs 201 { runId } (Idempotency-Key dedupes); GET /:flow/runs; unknown flow 404', async () => {
    const one = await post(`${base}/order/runs`, { x: 1 }, { 'idempotency-key': 'idem-1' })
    expect(one.status).toBe(201)
    const { runId } = (await one.json()) as { runId: string }
    expect(runId).toMatch(/^[A-Za-z0-9]{21}$/)
    expect(await (await post(`${base}/order/runs`, { x: 1 }, { 'idempotency-key': 'idem-1' })).json()).toEqual({ runId })
    const list = (await (await fetch(`${base}/order/runs?limit=2`)).json()) as {
      runs: Array<{ runId: string; flow: string; status: string }>
    }
    expect(list.runs.length).toBeLessThanOrEqual(2)
    expect(list.runs[0]).toMatchObject({ flow: 'order', status: expect.any(String), startedAt: expect.anything() })
    await expectError(await fetch(`${base}/nope/runs`), 404, 'FLOW_NOT_FOUND')
    await expectError(await post(`${base}/nope/runs`, {}), 404, 'FLOW_NOT_FOUND')
  })

  it('without a runner: run listing is empty, runner routes 404', async () => {
    const bare = `${await serve({ runner: undefined })}/flows`
    expect(await (await fetch(`${bare}/anything/runs`)).json()).toEqual({ runs: [] })
    expect((await post(`${bare}/order/runs`, {})).status).toBe(404)
    expect((await post(`${bare}/events`, { kind: 'k', data: 1 })).status).toBe(404)
  })

  it('GET /runs/:id, /events; POST cancel 202; unknown runs 404; POST /events 202 { id }', async () => {
    const { runId, log } = await finishedRun()
    const read = (await (await fetch(`${base}/runs/${runId}`)).json()) as { state: FlowState; lastEventId: string }
    expect(read.lastEventId).toBe(log.at(-1)?.id)
    expect(read.state).toMatchObject({ status: 'completed', name: 'order', result: { approve: { ok: true } } })
    const evs = (await (await fetch(`${base}/runs/${runId}/events?after=${log[0]?.id}&limit=2`)).json()) as { events: EventRecord[] }
    expect(evs.events).toEqual(log.slice(1, 3))
    const back = (await (await fetch(`${base}/runs/${runId}/events?direction=backward&limit=1`)).json()) as { events: EventRecord[] }
    expect(back.events).toEqual([log.at(-1)])
    await expectError(await fetch(`${base}/runs/unknownRun`), 404, 'RUN_NOT_FOUND')
    await expectError(await fetch(`${base}/runs/unknownRun/events`), 404, 'RUN_NOT_FOUND')
    await expectError(await fetch(`${base}/runs/unknownRun/stream`), 404, 'RUN_NOT_FOUND')
    const { runId: live } = (await (await post(`${base}/order/runs`, {})).json()) as { runId: string }
    expect((await post(`${base}/runs/${live}/cancel`, {})).status).toBe(202)
    const pub = await post(`${base}/events`, { kind: 'payment.confirmed', data: { id: 1 } })
    expect(pub.status).toBe(202)
    expect(await pub.json()).toEqual({ id: expect.any(String) })
  })

  it('triggers: 200 { runId, step }, then 409; unknown 404', async () => {
    await finishedRun()
    await expectError(await post(`${base}/triggers/${lastTrigger}`, {}), 409, 'TRIGGER_CONFLICT')
    await expectError(await post(`${base}/triggers/noSuchTrigger`, {}), 404, 'TRIGGER_NOT_FOUND')
  })

  it('check order: route (404/405) and names (400), then authorize, content type (415), body size, signature, JSON', async () => {
    const deny = `${await serve({ authorize: () => false, triggerSecret: 's3cret', maxBodyBytes: 64 })}/flows`
    await expectError(await fetch(`${deny}/nope/nope/nope`), 404, 'NOT_FOUND')
    await expectError(await fetch(`${deny}/runs/abc`, { method: 'DELETE' }), 405, 'METHOD_NOT_ALLOWED')
    await expectError(await fetch(`${deny}/events`), 405, 'METHOD_NOT_ALLOWED')
    await expectError(await fetch(`${deny}/runs/a%3Ab`), 400, 'INVALID_NAME')
    await expectError(await fetch(`${deny}/runs/a%7Bb%7D`), 400, 'INVALID_NAME')
    await expectError(await fetch(`${deny}/runs/abc`), 403, 'FORBIDDEN')
    await expectError(await post(`${deny}/events`, 'x'.repeat(1000)), 403, 'FORBIDDEN')
    await expectError(await post(`${deny}/events`, '{}', { 'content-type': 'text/plain' }), 403, 'FORBIDDEN')
    const open = `${await serve({ triggerSecret: 's3cret', maxBodyBytes: 64 })}/flows`
    // a body that is not declared JSON is refused before its size and its signature are looked at
    const plain = { 'content-type': 'text/plain' }
    await expectError(await post(`${open}/triggers/abc`, 'x'.repeat(1000), plain), 415, 'UNSUPPORTED_MEDIA_TYPE')
    await expectError(await post(`${open}/events`, '{"kind":"a"}', plain), 415, 'UNSUPPORTED_MEDIA_TYPE')
    await expectError(await post(`${open}/triggers/abc`, 'x'.repeat(1000)), 413, 'PAYLOAD_TOO_LARGE')
    const chunks = new ReadableStream({
      start(c) {
        for (let i = 0; i < 20; i++) c.enqueue(new TextEncoder().encode('0123456789'))
        c.close()
      },
    })
    const chunked = await fetch(`${open}/events`, {
      method: 'POST',
      body: chunks,
      duplex: 'half',
      headers: { 'content-type': 'application/json' },
    } as RequestInit)
    await expectError(chunked, 413, 'PAYLOAD_TOO_LARGE')
    await expectError(await post(`${open}/triggers/abc`, '{bad json'), 401, 'UNAUTHORIZED')
    const body = '{bad json'
    await expectError(
      await post(`${open}/triggers/abc`, body, { 'leanflow-signature': await signTrigger('s3cret', body) }),
      400,
      'INVALID_ARGUMENT',
    )
    await expectError(await post(`${open}/events`, '{bad json'), 400, 'INVALID_ARGUMENT')
    // bad input never gives 500: JSON nested 50,000 deep (100 KB, under the body limit)
    const deep = `${'['.repeat(50_000)}${']'.repeat(50_000)}`
    await expectError(await post(`${base}/order/runs`, deep), 400, 'INVALID_ARGUMENT')
    await expectError(await post(`${base}/events`, `{"kind":"k","data":${deep}}`), 400, 'INVALID_ARGUMENT')
    // percent-decoded before validation: %61bc is "abc"
    await expectError(await fetch(`${open}/runs/%61bc`), 404, 'RUN_NOT_FOUND')
  })

  it('authorize gets (req, action, params); a returned Response is sent as is', async () => {
    const calls: unknown[] = []
    const url = `${await serve({
      authorize: (req, action, params) => {
        calls.push([req instanceof Request, action, params])
        return action === 'runs.cancel' ? new Response('nope', { status: 401, headers: { 'x-why': 'custom' } }) : true
      },
    })}/flows`
    const res = await post(`${url}/runs/r1/cancel`, {})
    expect(res.status).toBe(401)
    expect(res.headers.get('x-why')).toBe('custom')
    expect(await res.text()).toBe('nope')
    await fetch(`${url}/order/runs`)
    await post(`${url}/triggers/t1`, {})
    await fetch(url)
    expect(calls).toEqual([
      [true, 'runs.cancel', { runId: 'r1' }],
      [true, 'runs.list', { flow: 'order' }],
      [true, 'triggers.resolve', { triggerId: 't1' }],
      [true, 'flows.list', {}],
    ])
  })

  it('signTrigger makes t=<unix>,v1=<hex>; a signed trigger resolves, a stale or missing one is 401', async () => {
    const header = await signTrigger('k', '{"a":1}', 1_700_000_000)
    expect(header).toMatch(/^t=1700000000,v1=[0-9a-f]{64}$/)
    const now = await signTrigger('k', '{"a":1}')
    expect(now).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/)
    expect(Math.abs(Number(now.slice(2, now.indexOf(','))) - Date.now() / 1000)).toBeLessThan(60)
    expect(await signTrigger('k', '{"a":2}', 1_700_000_000)).not.toBe(header)
    const signed = `${await serve({ triggerSecret: 'k' })}/flows`
    await expectError(
      await post(`${signed}/triggers/abc`, '{}', { 'leanflow-signature': await signTrigger('k', '{}', 1_000_000_000) }),
      401,
      'UNAUTHORIZED',
    )
    await expectError(
      await post(`${signed}/triggers/abc`, '{}', { 'leanflow-signature': await signTrigger('wrong', '{}') }),
      401,
      'UNAUTHORIZED',
    )
    await expectError(
      await post(`${signed}/triggers/abc`, '{}', { 'leanflow-signature': await signTrigger('k', '{}') }),
      404,
      'TRIGGER_NOT_FOUND',
    )
  })
})

describe('SSE', () => {
  it('streams id:/data: records, a retry: field, then event: end with no id:', async () => {
    const { runId, log } = await finishedRun()
    const res = await fetch(`${base}/runs/${runId}/stream`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/)
    const fs = await frames(res)
    expect(fs.some((f) => f.retry !== undefined)).toBe(true)
    const evs = fs.filter((f) => f.data !== undefined && f.event === undefined)
    expect(evs.map((f) => f.id)).toEqual(log.map((e) => e.id))
    expect(evs.map((f) => JSON.parse(f.data as string))).toEqual(log)
    const end = fs.at(-1)
    expect(end?.event).toBe('end')
    expect(end?.id).toBeUndefined()
    expect(JSON.parse(end?.data as string)).toEqual({ lastEventId: log.at(-1)?.id, kind: 'flow.completed' })
  })

  it('Last-Event-ID wins over ?after=; at the terminal event a reconnect gets 204', async () => {
    const { runId, log } = await finishedRun()
    const res = await fetch(`${base}/runs/${runId}/stream?after=${log[0]?.id}`, { headers: { 'last-event-id': log.at(-3)?.id as string } })
    const ids = (await frames(res)).filter((f) => f.id !== undefined).map((f) => f.id)
    expect(ids).toEqual(log.slice(-2).map((e) => e.id))
    expect((await fetch(`${base}/runs/${runId}/stream`, { headers: { 'last-event-id': log.at(-1)?.id as string } })).status).toBe(204)
    expect((await fetch(`${base}/runs/${runId}/stream?after=${log.at(-1)?.id}`)).status).toBe(204)
  })

  it('a position older than retention gets event: reset { reason }, then closes', async () => {
    const { runId, log } = await finishedRun()
    clockOffset += 2 * 60 * 60 * 1000
    const fs = await frames(await fetch(`${base}/runs/${runId}/stream`, { headers: { 'last-event-id': log[0]?.id as string } }))
    const reset = fs.find((f) => f.event === 'reset')
    expect(JSON.parse(reset?.data as string)).toMatchObject({ reason: expect.any(String) })
    expect(fs.filter((f) => f.id !== undefined)).toEqual([])
  })

  it('watchRun with the eventsource package: onEvent, onState, onEnd', async () => {
    const { runId, log } = await finishedRun()
    const seen: string[] = []
    let last: FlowState | undefined
    const end = await new Promise<{ lastEventId: string; kind: string }>((resolve, reject) => {
      const w = watchRun(`${base}/runs/${runId}/stream`, {
        EventSource,
        onEvent: (e) => void seen.push(e.id),
        onState: (s) => void (last = s),
        onEnd: (e) => {
          w.close()
          resolve(e)
        },
        onError: reject,
      })
    })
    const failure = await new Promise<Error>((onError) => watchRun(`${base}/runs/unknownRun/stream`, { EventSource, onError }))
    expect(failure).toBeInstanceOf(Error)
    expect(seen).toEqual(log.map((e) => e.id))
    expect(last?.status).toBe('completed')
    expect(end).toEqual({ lastEventId: log.at(-1)?.id, kind: 'flow.completed' })
  })
})
