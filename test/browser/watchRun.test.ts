// watchRun from the BUILT @leanflow/http/client bundle in headless Chromium: the page follows a
// live run; the HTTP server is stopped mid-run and restarted on the same port; the page's
// EventSource reconnects (Last-Event-ID) and ends with exactly the state the server reduces; a page
// watching from the last event of a run that already ended (204) ends with onEnd, no onError.
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { resolve } from 'node:path'
import { createMemoryStreamStore, type MemoryStreamStore, reduceFlow } from '@leanflow/core'
import { createHandler, type Handler } from '@leanflow/http'
import { toNodeHandler } from '@leanflow/http/node'
import { createRunner, defineFlow, type Runner } from '@leanflow/runner'
import { build } from 'esbuild'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { launchChromium } from '../helpers/chromium.js'
import { waitFor } from '../helpers/waitFor.js'

const root = resolve(import.meta.dirname, '../..')
const page = readFileSync(resolve(import.meta.dirname, '../fixtures/browser/watchRun.html'), 'utf8')

const review = defineFlow({
  name: 'review',
  steps: {
    draft: { handler: async (input) => ({ title: (input as { title: string }).title }) },
    approve: {
      needs: ['draft'],
      handler: async (_input, ctx) => {
        ctx.logger.info('waiting for a reviewer')
        const t = await ctx.await.trigger({ type: 'user', timeout: '1h' })
        return await t.wait()
      },
    },
    publish: {
      needs: ['approve'],
      handler: async (_input, ctx) => {
        await ctx.state.set('published', true)
        return { url: `/posts/${(ctx.results.draft as { title: string }).title}` }
      },
    },
  },
})

let bundle: string
let store: MemoryStreamStore
let runner: Runner
let handler: Handler
let browser: Browser
let server: http.Server

function listen(port: number): Promise<http.Server> {
  const s = http.createServer((req, res) => {
    if (req.url?.startsWith('/flows')) return void toNodeHandler(handler)(req, res)
    if (req.url === '/client.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' })
      return void res.end(bundle)
    }
    res.writeHead(200, { 'content-type': 'text/html' })
    res.end(page)
  })
  return new Promise((ok, fail) => {
    s.once('error', fail)
    s.listen(port, '127.0.0.1', () => ok(s))
  })
}

function stop(s: http.Server): Promise<void> {
  return new Promise((ok) => {
    s.close(() => ok())
    s.closeAllConnections()
  })
}

beforeAll(async () => {
  execFileSync('pnpm', ['--filter', '@leanflow/core', '--filter', '@leanflow/http', 'run', 'build'], { cwd: root, stdio: 'pipe' })
  const out = await build({
    entryPoints: [resolve(root, 'packages/http/dist/client.js')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    write: false,
    alias: { '@leanflow/core': resolve(root, 'packages/core/dist/index.js') },
  })
  bundle = out.outputFiles[0]?.text ?? ''
  store = createMemoryStreamStore()
  runner = createRunner({ store, flows: [review], onError: () => {} })
  await runner.start()
  handler = createHandler({ store, runner, retryMs: 200 })
  server = await listen(0)
  browser = await launchChromium()
}, 180_000)

afterAll(async () => {
  await browser?.close()
  await runner?.stop()
  if (server?.listening) await stop(server)
})

it('the bundle is the built client and imports nothing at run time', () => {
  expect(bundle).toContain('watchRun')
  expect(bundle).not.toMatch(/from\s*["'](@leanflow|node:)/)
})

it('a page watches a live run across a server restart and ends with the exact final state', async () => {
  const port = (server.address() as AddressInfo).port
  const { runId } = await runner.startFlow('review', { title: 'hello' })
  const tab = await browser.newPage()
  const pageErrors: string[] = []
  tab.on('pageerror', (e) => pageErrors.push(e.message))
  await tab.goto(`http://127.0.0.1:${port}/?run=${runId}`)
  await tab.waitForFunction(() => (window as unknown as { __state?: { status: string } }).__state?.status === 'awaiting', undefined, {
    timeout: 30_000,
  })

  // the server goes away mid-run; the run goes on meanwhile
  await stop(server)
  const awaitEvent = (await store.read(runId)).find((e) => e.kind === 'step.await.trigger')
  await runner.resolveTrigger((awaitEvent?.data as { triggerId: string } | undefined)?.triggerId ?? 'missing', { by: 'ann' })
  await waitFor(async () => reduceFlow(await store.read(runId)).status === 'completed', 'the run to complete')
  server = await listen(port)

  await tab.waitForFunction(() => document.body.dataset.done !== undefined, undefined, { timeout: 30_000 })
  const events = await store.read(runId)
  const expected = reduceFlow(events)
  const seen = (await tab.evaluate(() => {
    const w = window as unknown as { __state: unknown; __events: string[]; __end: unknown; __errors: string[] }
    return { state: JSON.parse(JSON.stringify(w.__state)), events: w.__events, end: w.__end, errors: w.__errors }
  })) as { state: unknown; events: string[]; end: unknown; errors: string[] }
  expect(seen.state).toEqual(JSON.parse(JSON.stringify(expected)))
  expect(seen.events).toEqual(events.map((e) => e.id))
  expect(seen.end).toEqual({ lastEventId: events[events.length - 1]?.id, kind: 'flow.completed' })
  expect(seen.errors).toEqual([])
  expect(pageErrors).toEqual([])
  expect(await tab.locator('#status').textContent()).toBe('completed')
  await tab.close()
})

it('a page watching an unknown run gets an onError naming the HTTP status and code (a browser EventSource hides them)', async () => {
  const port = (server.address() as AddressInfo).port
  const tab = await browser.newPage()
  await tab.goto(`http://127.0.0.1:${port}/?run=no-such-run`)
  await tab.waitForFunction(() => (window as unknown as { __errors: string[] }).__errors.length > 0, undefined, { timeout: 30_000 })
  const errors = await tab.evaluate(() => (window as unknown as { __errors: string[] }).__errors)
  expect(errors).toHaveLength(1)
  expect(errors[0]).toMatch(/closed for good \(HTTP 404 RUN_NOT_FOUND: /)
  await tab.close()
})

it("a page watching from the last event of a run that already ended gets onEnd with that event, no onError (the stream's 204)", async () => {
  const port = (server.address() as AddressInfo).port
  const { runId } = await runner.startFlow('review', { title: 'gone' })
  await waitFor(async () => reduceFlow(await store.read(runId)).status === 'awaiting', 'the run to await')
  await runner.cancel(runId)
  await waitFor(async () => reduceFlow(await store.read(runId)).status === 'canceled', 'the run to be canceled')
  const last = (await store.read(runId)).at(-1)?.id
  const tab = await browser.newPage()
  await tab.goto(`http://127.0.0.1:${port}/?run=${runId}&after=${last}`)
  await tab.waitForFunction(
    () => document.body.dataset.done !== undefined || (window as unknown as { __errors: string[] }).__errors.length > 0,
    undefined,
    { timeout: 30_000 },
  )
  await new Promise((r) => setTimeout(r, 200)) // nothing more comes
  const seen = await tab.evaluate(() => {
    const w = window as unknown as { __events: string[]; __end: unknown; __errors: string[] }
    return { events: w.__events, end: w.__end, errors: w.__errors }
  })
  expect(seen).toEqual({ events: [], end: { lastEventId: last, kind: 'flow.canceled' }, errors: [] })
  await tab.close()
})
