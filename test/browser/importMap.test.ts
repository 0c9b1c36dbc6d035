// @leanflow/core (and @leanflow/http/client on top of it) as plain ES modules in headless Chromium,
// without a bundler: the page maps the bare names with an import map to the ESM files that core's
// and http's own tsup configs build (into a temporary directory, so packages/*/dist is left alone
// for the tests that read it meanwhile), served by a node:http server. The page reduces a real
// run's log with reduceFlow and with applyEvent, uses the EventBus and parseEvent, and must
// reach exactly the state Node reduces. A bare import the map does not name (a dependency) would
// fail the module graph: nothing but the mapped files may be requested. One page load.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createMemoryStreamStore, type EventRecord, reduceFlow } from '@leanflow/core'
import { createRunner, defineFlow } from '@leanflow/runner'
import type { Browser } from 'playwright-core'
import { build, type Options } from 'tsup'
import { afterAll, beforeAll, expect, it } from 'vitest'
import coreConfig from '../../packages/core/tsup.config.js'
import httpConfig from '../../packages/http/tsup.config.js'
import { launchChromium } from '../helpers/chromium.js'

const root = resolve(import.meta.dirname, '../..')
const out = mkdtempSync(join(tmpdir(), 'leanflow-importmap-'))

const IMPORT_MAP = { imports: { '@leanflow/core': '/core/index.js', '@leanflow/http/client': '/http/client.js' } }

const PAGE = (events: EventRecord[]) => `<!doctype html>
<html lang="en">
  <head><meta charset="utf-8" /><title>import map</title>
    <script type="importmap">${JSON.stringify(IMPORT_MAP)}</script>
  </head>
  <body>
    <script type="application/json" id="events">${JSON.stringify(events).replaceAll('<', '\\u003c')}</script>
    <script type="module">
      import { applyEvent, emptyFlowState, EventBus, parseEvent, reduceFlow } from '@leanflow/core'
      import { watchRun } from '@leanflow/http/client'

      const events = JSON.parse(document.getElementById('events').textContent).map((e) => parseEvent(e))
      const bus = new EventBus()
      const kinds = []
      const off = bus.onAny((e) => kinds.push(e.kind))
      let folded = emptyFlowState()
      for (const e of events) {
        folded = applyEvent(folded, e)
        bus.publish(e)
      }
      off()
      window.__result = {
        reduced: JSON.parse(JSON.stringify(reduceFlow([...events].reverse()))),
        folded: JSON.parse(JSON.stringify(folded)),
        published: kinds.length,
        listeners: bus.listenerCount(),
        watchRun: typeof watchRun,
      }
    </script>
  </body>
</html>`

const flow = defineFlow({
  name: 'importmap',
  steps: {
    fetch: {
      handler: async (input, ctx) => {
        ctx.logger.info('fetching', { id: (input as { id: string }).id })
        await ctx.state.set('progress', 50)
        return { items: 3 }
      },
    },
    total: { needs: ['fetch'], handler: async (_input, ctx) => ({ total: (ctx.results.fetch as { items: number }).items * 2 }) },
  },
})

let browser: Browser
let server: http.Server
let events: EventRecord[]
const requested: string[] = []

/** The package's own tsup config, ESM only, no types, no maps: what a browser loads. */
async function buildEsm(config: Options, pkg: string, entry: Record<string, string>): Promise<void> {
  await build({
    ...config,
    config: false,
    entry: Object.fromEntries(Object.entries(entry).map(([name, file]) => [name, join(root, 'packages', pkg, file)])),
    tsconfig: join(root, 'packages', pkg, 'tsconfig.json'),
    outDir: join(out, pkg),
    format: ['esm'],
    dts: false,
    sourcemap: false,
    clean: false,
    silent: true,
    // every bare import stays one, as in the published build (which leaves its dependencies to
    // the user's install): the page then has to resolve it, and only the import map can
    external: [/^[^./]/],
  })
}

beforeAll(async () => {
  await Promise.all([
    buildEsm(coreConfig as Options, 'core', { index: 'src/index.ts' }),
    buildEsm(httpConfig as Options, 'http', { client: 'src/client.ts' }),
  ])
  const store = createMemoryStreamStore()
  const runner = createRunner({ store, flows: [flow], onError: () => {} })
  await runner.start()
  try {
    const { runId } = await runner.startFlow('importmap', { id: 'a-1' })
    const deadline = Date.now() + 10_000
    while (!(await store.read(runId)).some((e) => e.kind === 'flow.completed')) {
      if (Date.now() > deadline) throw new Error('the run did not complete')
      await new Promise((r) => setTimeout(r, 10))
    }
    events = await store.read(runId)
  } finally {
    await runner.stop()
  }
  server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname
    if (path === '/favicon.ico') return void res.writeHead(204).end()
    requested.push(path)
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html' })
      return void res.end(PAGE(events))
    }
    const file = /^\/(core|http)\/[\w-]+\.js$/.test(path) ? join(out, path) : undefined
    try {
      const body = file ? readFileSync(file) : undefined
      if (!body) throw new Error('not served')
      res.writeHead(200, { 'content-type': 'text/javascript' })
      res.end(body)
    } catch {
      res.writeHead(404).end()
    }
  })
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok))
  browser = await launchChromium()
}, 120_000)

afterAll(async () => {
  await browser?.close()
  await new Promise<void>((ok) => (server?.listening ? server.close(() => ok()) : ok()))
  rmSync(out, { recursive: true, force: true })
})

it('core and the http client load as native ES modules through an import map and reduce a run as Node does', async () => {
  const core = readFileSync(join(out, 'core/index.js'), 'utf8')
  // the only bare specifier of the two modules is @leanflow/core, in the client
  // (an import or export statement's `from`, not the word in a string such as "from")
  expect(core).not.toMatch(/^\s*(?:import|export)\b[^;]*?\bfrom\s*["'][^"'./]/m)
  expect(core).not.toMatch(/\bimport\s*\(|\brequire\(/)

  const port = (server.address() as AddressInfo).port
  const page = await browser.newPage()
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  page.on('console', (m) => void (m.type() === 'error' && errors.push(m.text())))
  try {
    await page.goto(`http://127.0.0.1:${port}/`)
    await page.waitForFunction(() => (window as unknown as { __result?: unknown }).__result !== undefined, undefined, { timeout: 15_000 })
    const result = (await page.evaluate(() => (window as unknown as { __result: unknown }).__result)) as {
      reduced: unknown
      folded: unknown
      published: number
      listeners: number
      watchRun: string
    }
    expect(errors).toEqual([])
    const expected = JSON.parse(JSON.stringify(reduceFlow(events))) as { status: string; logs: unknown[] }
    expect(expected.status).toBe('completed')
    expect(expected.logs.length).toBeGreaterThan(0)
    expect(result.reduced).toEqual(expected)
    expect(result.folded).toEqual(expected)
    expect(result.published).toBe(events.length)
    expect(result.listeners).toBe(0)
    expect(result.watchRun).toBe('function')
    expect(requested.sort()).toEqual(['/', '/core/index.js', '/http/client.js'])
  } catch (err) {
    throw new Error(`${String(err)}\npage errors: ${errors.join('\n')}`)
  } finally {
    await page.close()
  }
})
