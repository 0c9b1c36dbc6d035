// The demo's HTTP server: leanflow's handler at /flows, the demo's page at /, and the dashboard
// (@leanflow/dashboard) at /dashboard, both pages on the same /flows API.
import { readFile } from 'node:fs/promises'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createDashboard } from '@leanflow/dashboard'
import { createHandler } from '@leanflow/http'
import { toNodeHandler } from '@leanflow/http/node'
import { type Backend, createBackend } from './backend.js'
import { bundlePage } from './bundle.js'
import { type DemoTimings, LIVE_TIMINGS } from './flows.js'

/** Options of {@link startDemoServer}. */
export interface DemoServerOptions {
  /** 0 picks a free port. @default 3000 */
  port?: number
  /** @default '127.0.0.1' when testing, all interfaces otherwise (node's default) */
  host?: string
  /** `redis://…` to run on Redis; in memory when absent. */
  redisUrl?: string
  /** @default LIVE_TIMINGS */
  timings?: DemoTimings
  /** @default console.log */
  log?: (line: string) => void
}

/** A running demo server. */
export interface DemoServer {
  url: string
  port: number
  backend: Backend
  close(): Promise<void>
}

const page = (file: string) => readFile(new URL(`./page/${file}`, import.meta.url), 'utf8')

/**
 * Starts the page, the dashboard at /dashboard, the /flows handler and the runner (which executes steps in this process).
 *
 * @example
 * ```ts
 * const demo = await startDemoServer({ port: 0 })
 * console.log(demo.url)
 * await demo.close()
 * ```
 */
export async function startDemoServer(opts: DemoServerOptions = {}): Promise<DemoServer> {
  const [html, css, runCss, js] = await Promise.all([page('index.html'), page('styles.css'), page('run.css'), bundlePage()])
  const assets: Record<string, [string, string]> = {
    '/': ['text/html; charset=utf-8', html],
    '/index.html': ['text/html; charset=utf-8', html],
    '/app.css': ['text/css; charset=utf-8', css],
    '/run.css': ['text/css; charset=utf-8', runCss],
    '/app.js': ['text/javascript; charset=utf-8', js],
  }
  let flows: ((req: IncomingMessage, res: ServerResponse) => void) | undefined
  const dashboard = toNodeHandler(createDashboard({ apiBase: '/flows', basePath: '/dashboard', title: 'leanflow · order approval' }))
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/'
    if (path === '/flows' || path.startsWith('/flows/')) {
      if (flows) return flows(req, res)
      res.writeHead(503).end()
      return
    }
    if (path === '/dashboard' || path.startsWith('/dashboard/')) return dashboard(req, res)
    const asset = assets[path]
    if (!asset || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found')
      return
    }
    res.writeHead(200, { 'content-type': asset[0], 'cache-control': 'no-store' }).end(asset[1])
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port ?? 3000, opts.host, () => resolve())
  })
  const port = (server.address() as AddressInfo).port
  const url = `http://localhost:${port}`
  const backend = createBackend({ redisUrl: opts.redisUrl, timings: opts.timings ?? LIVE_TIMINGS, baseUrl: url, log: opts.log })
  const handler = createHandler({ store: backend.store, runner: backend.runner, basePath: '/flows' })
  flows = toNodeHandler(handler)
  await backend.runner.start()
  return {
    url,
    port,
    backend,
    async close() {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await backend.close()
    },
  }
}
