// CORS and the JSON Content-Type rule from real pages in headless Chromium (F26, issue 11 item
// 8). Pages are served by two node:http servers (two origins: 127.0.0.1 on two ports) and call
// the leanflow handler on a third (the API, with `cors: { origin: [page A], credentials: true }`;
// a fourth API server has no credentials). A page on the allowed origin starts runs with a JSON
// POST (after a preflight), reads errors, sends its cookie and follows a stream; a page on the
// other origin is refused at the preflight and starts nothing. A `text/plain` POST and an HTML
// form post (the requests a browser sends cross-site without a preflight, cookie included) are
// 415 and start nothing.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { createMemoryStreamStore, type MemoryStreamStore } from '@leanflow/core'
import { type Authorize, createHandler } from '@leanflow/http'
import { toNodeHandler } from '@leanflow/http/node'
import { createRunner, defineFlow, type Runner } from '@leanflow/runner'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest'
import { launchChromium } from '../helpers/chromium.js'
import { waitFor } from '../helpers/waitFor.js'

const SESSION = 's3cret-session'
const echo = defineFlow({ name: 'echo', steps: { noop: { handler: async (input) => input ?? null } } })
const vault = defineFlow({ name: 'vault', steps: { noop: { handler: async (input) => input ?? null } } })

interface Hit {
  method: string
  path: string
  status: number
  origin: string | undefined
  contentType: string | undefined
  cookie: boolean
}

let store: MemoryStreamStore
let runner: Runner
let browser: Browser
let context: BrowserContext
const servers: http.Server[] = []
let pageA: string
let pageC: string
let api: string
let apiNoCredentials: string
const hits: Hit[] = []

/** The flow `vault` and every stream need the session cookie. */
const authorize: Authorize = (req, action, params) => {
  const needsSession = action === 'runs.stream' || params.flow === 'vault'
  if (!needsSession || (req.headers.get('cookie') ?? '').includes(`sid=${SESSION}`)) return true
  return Response.json({ error: { code: 'UNAUTHORIZED', message: 'Log in first.' } }, { status: 401 })
}

async function listen(handle: http.RequestListener): Promise<string> {
  const server = http.createServer(handle)
  servers.push(server)
  await new Promise<void>((ok, fail) => {
    server.once('error', fail)
    server.listen(0, '127.0.0.1', () => ok())
  })
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

function apiServer(credentials: boolean): Promise<string> {
  const handle = toNodeHandler(createHandler({ store, runner, authorize, cors: { origin: [pageA], credentials } }))
  return listen((req, res) => {
    res.once('finish', () =>
      hits.push({
        method: req.method ?? '',
        path: req.url ?? '',
        status: res.statusCode,
        origin: req.headers.origin,
        contentType: req.headers['content-type'],
        cookie: req.headers.cookie !== undefined,
      }),
    )
    void handle(req, res)
  })
}

const page = (_req: http.IncomingMessage, res: http.ServerResponse) => {
  res.writeHead(200, { 'content-type': 'text/html' })
  res.end('<!doctype html><title>page</title><body></body>')
}

beforeAll(async () => {
  store = createMemoryStreamStore()
  runner = createRunner({ store, flows: [echo, vault], onError: () => {} })
  await runner.start()
  pageA = await listen(page)
  pageC = await listen(page)
  api = await apiServer(true)
  apiNoCredentials = await apiServer(false)
  browser = await launchChromium()
  context = await browser.newContext()
  // the user is logged in to the API's site: a cookie for 127.0.0.1 (any port), SameSite=Lax
  await context.addCookies([{ name: 'sid', value: SESSION, domain: '127.0.0.1', path: '/', sameSite: 'Lax', httpOnly: true }])
}, 120_000)

afterAll(async () => {
  await browser?.close()
  await runner?.stop()
  for (const s of servers) s.closeAllConnections()
  await Promise.all(servers.map((s) => new Promise((ok) => s.close(ok))))
})

beforeEach(() => {
  hits.length = 0
})

async function open(origin: string): Promise<Page> {
  const tab = await context.newPage()
  await tab.goto(`${origin}/`)
  return tab
}

interface Answer {
  ok: boolean
  status?: number
  type?: string
  body?: unknown
  error?: string
}

/** `fetch` from the page; a network error (a refused CORS request) comes back as `{ ok: false, error }`. */
function fetchFrom(
  tab: Page,
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string; credentials?: string; mode?: string },
) {
  return tab.evaluate(
    async ({ url, init }): Promise<Answer> => {
      try {
        const res = await fetch(url, init as RequestInit)
        const text = res.type === 'opaque' ? '' : await res.text()
        return { ok: true, status: res.status, type: res.type, body: text === '' ? undefined : JSON.parse(text) }
      } catch (err) {
        return { ok: false, error: String(err) }
      }
    },
    { url, init },
  )
}

const jsonPost = (body: unknown, extra: { credentials?: string } = {}) => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
  ...extra,
})

/** Tags of the runs of `flow` (their input's `tag`). */
async function tags(flow: string): Promise<string[]> {
  const runs = await store.listRuns(flow, { limit: 1000 })
  const out: string[] = []
  for (const r of runs) {
    const [started] = await store.read(r.runId, { limit: 1 })
    const tag = (started?.data as { input?: { tag?: string } } | undefined)?.input?.tag
    if (tag !== undefined) out.push(tag)
  }
  return out
}

it('a page on the allowed origin starts a run with a JSON POST (preflight 204, then 201, readable)', async () => {
  const tab = await open(pageA)
  const answer = await fetchFrom(tab, `${api}/flows/echo/runs`, jsonPost({ tag: 'from-a' }))
  expect(answer).toMatchObject({ ok: true, status: 201, body: { runId: expect.any(String) } })
  expect(hits.map((h) => `${h.method} ${h.status}`)).toEqual(['OPTIONS 204', 'POST 201'])
  expect(hits[1]?.origin).toBe(pageA)
  expect(await tags('echo')).toContain('from-a')
  await tab.close()
})

it('a page on another origin is refused at the preflight (403) and starts nothing', async () => {
  const tab = await open(pageC)
  const answer = await fetchFrom(tab, `${api}/flows/echo/runs`, jsonPost({ tag: 'from-c' }))
  expect(answer.ok).toBe(false)
  expect(hits.map((h) => `${h.method} ${h.status}`)).toEqual(['OPTIONS 403'])
  expect(await tags('echo')).not.toContain('from-c')
  await tab.close()
})

it('a text/plain POST with a JSON body (no preflight) is 415 and starts nothing, from either origin', async () => {
  const plain = (tag: string, mode?: string) => ({
    method: 'POST',
    headers: { 'content-type': 'text/plain' },
    body: JSON.stringify({ tag }),
    ...(mode === undefined ? {} : { mode }),
  })
  const a = await open(pageA)
  const readable = await fetchFrom(a, `${api}/flows/echo/runs`, plain('plain-a'))
  expect(readable).toMatchObject({ ok: true, status: 415, body: { error: { code: 'UNSUPPORTED_MEDIA_TYPE' } } })
  const c = await open(pageC)
  const opaque = await fetchFrom(c, `${api}/flows/echo/runs`, plain('plain-c', 'no-cors'))
  expect(opaque).toMatchObject({ ok: true, type: 'opaque' })
  await waitFor(() => hits.filter((h) => h.method === 'POST').length === 2, 'both posts to reach the server')
  expect(hits.map((h) => `${h.method} ${h.status} ${h.origin}`)).toEqual([`POST 415 ${pageA}`, `POST 415 ${pageC}`])
  const runs = await tags('echo')
  expect(runs).not.toContain('plain-a')
  expect(runs).not.toContain('plain-c')
  await a.close()
  await c.close()
})

it('an HTML form posted cross-site with the session cookie (enctype text/plain, JSON-looking) is 415 and starts nothing', async () => {
  const c = await open(pageC)
  await c.evaluate((action) => {
    // the classic JSON CSRF: name + "=" + value reads as {"tag":"form-c","x":"="}
    const sink = document.createElement('iframe')
    sink.name = 'sink' // the answer loads here, so the page stays
    document.body.append(sink)
    const form = document.createElement('form')
    form.method = 'POST'
    form.action = action
    form.target = 'sink'
    form.enctype = 'text/plain'
    const input = document.createElement('input')
    input.name = '{"tag":"form-c","x":"'
    input.value = '"}'
    form.append(input)
    document.body.append(form)
    form.submit()
  }, `${api}/flows/vault/runs`)
  await waitFor(() => hits.some((h) => h.method === 'POST'), 'the form post to reach the server')
  expect(hits).toEqual([{ method: 'POST', path: '/flows/vault/runs', status: 415, origin: pageC, contentType: 'text/plain', cookie: true }])
  expect(await tags('vault')).not.toContain('form-c')
  await c.close()
})

it('credentials: the cookie goes with credentials: include and the answer is readable; without cors credentials it is refused', async () => {
  const tab = await open(pageA)
  const withCookie = await fetchFrom(tab, `${api}/flows/vault/runs`, jsonPost({ tag: 'vault-a' }, { credentials: 'include' }))
  expect(withCookie).toMatchObject({ ok: true, status: 201 })
  expect(hits.find((h) => h.method === 'POST')?.cookie).toBe(true)
  const withoutCookie = await fetchFrom(tab, `${api}/flows/vault/runs`, jsonPost({ tag: 'vault-anon' }))
  expect(withoutCookie).toMatchObject({ ok: true, status: 401, body: { error: { code: 'UNAUTHORIZED' } } })
  hits.length = 0
  // the other API allows the origin but not credentials: the preflight answer has no
  // Access-Control-Allow-Credentials, so the browser never sends the POST
  const refused = await fetchFrom(
    tab,
    `${apiNoCredentials}/flows/vault/runs`,
    jsonPost({ tag: 'vault-nocreds' }, { credentials: 'include' }),
  )
  expect(refused.ok).toBe(false)
  expect(hits.map((h) => `${h.method} ${h.status}`)).toEqual(['OPTIONS 204'])
  const runs = await tags('vault')
  expect(runs).toContain('vault-a')
  expect(runs).not.toContain('vault-anon')
  expect(runs).not.toContain('vault-nocreds')
  await tab.close()
})

it('EventSource with credentials follows a run from the allowed origin; the other origin gets nothing', async () => {
  const { runId } = await runner.startFlow('echo', { tag: 'streamed' })
  await waitFor(async () => (await store.read(runId)).some((e) => e.kind === 'flow.completed'), 'the run to complete')
  const ids = (await store.read(runId)).map((e) => e.id)
  const follow = (tab: Page) =>
    tab.evaluate(
      (url) =>
        new Promise<{ ids: string[]; end: boolean; error: boolean }>((resolve) => {
          const got: string[] = []
          const es = new EventSource(url, { withCredentials: true })
          es.onmessage = (m) => got.push(m.lastEventId)
          es.addEventListener('end', () => {
            es.close()
            resolve({ ids: got, end: true, error: false })
          })
          es.onerror = () => {
            es.close()
            resolve({ ids: got, end: false, error: true })
          }
        }),
      `${api}/flows/runs/${runId}/stream`,
    )
  const a = await open(pageA)
  expect(await follow(a)).toEqual({ ids, end: true, error: false })
  const c = await open(pageC)
  expect(await follow(c)).toEqual({ ids: [], end: false, error: true })
  await a.close()
  await c.close()
})
