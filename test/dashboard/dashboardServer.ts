// The dashboard's test server: a runner on a redis-server with a few flows, the leanflow handler at
// /flows (its authorize refuses runs.cancel to the cookie role=viewer, runs.read to role=watcher) and the dashboard at
// /dashboard on one node:http server (as an app mounts them; at /misplaced, one whose apiBase is
// wrong), and a way to add thousands of runs cheaply (their flow.started appended straight to the store, so the
// runs are listed and counted but no step of theirs ever runs).
import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createDashboard } from '@leanflow/dashboard'
import { createHandler } from '@leanflow/http'
import { toNodeHandler } from '@leanflow/http/node'
import { createRedisStreamStore, type RedisStreamStore } from '@leanflow/redis'
import { createRunner, defineFlow, type Runner } from '@leanflow/runner'

/** a → b: `a` logs and sets state, `b` waits `input.ms` (default 600 ms) then returns; followed live to its end. */
export const quick = defineFlow({
  name: 'quick',
  steps: {
    a: {
      handler: async (input, ctx) => {
        ctx.logger.debug('a starts')
        ctx.logger.info('a ran', { input })
        await ctx.state.set('seen', { by: 'a' })
        return 1
      },
    },
    b: {
      needs: ['a'],
      handler: async (input, ctx) => {
        await ctx.await.time((input as { ms?: number } | null)?.ms ?? 600)
        ctx.logger.warn('b waited')
        return 2
      },
    },
  },
})

/** validate → (charge, retried once | payment, awaits an event) → approve (awaits a trigger) → ship; one concurrency limit per customer. */
export const order = defineFlow({
  name: 'order',
  concurrency: { limit: 5, key: (input: { customer?: string } | null) => input?.customer ?? 'guest' },
  steps: {
    validate: { handler: async (input) => (input as { orderId: string }).orderId },
    charge: {
      needs: ['validate'],
      retry: { attempts: 2, backoff: { type: 'fixed', delayMs: 100 } },
      handler: async (_input, ctx) => {
        if (ctx.attempt === 1) throw new Error('card processor timed out')
        return 'ch_1'
      },
    },
    payment: {
      needs: ['validate'],
      handler: async (input, ctx) => {
        const { orderId } = input as { orderId: string }
        return (await ctx.await.event({ kind: 'payment.confirmed', match: { 'data.orderId': orderId }, timeout: '1h' })).data
      },
    },
    approve: {
      needs: ['charge', 'payment'],
      handler: async (_input, ctx) => (await (await ctx.await.trigger({ type: 'approval', timeout: '1h' })).wait()) as unknown,
    },
    ship: { needs: ['approve'], handler: async () => ({ tracking: 'TRK-1' }) },
  },
})

/** One step that invokes a `quick` child run and returns its result. */
export const batch = defineFlow({
  name: 'batch',
  steps: { spawn: { handler: async (_input, ctx) => await ctx.invoke(quick, { ms: 1 }) } },
})

/** One step that invokes `input.n` `quick` child runs at once (more than a page of the dashboard's children). */
export const wide = defineFlow<{ n: number }>({
  name: 'wide',
  steps: {
    spawn: {
      handler: async (input, ctx) => (await Promise.all(Array.from({ length: input.n }, () => ctx.invoke(quick, { ms: 1 })))).length,
    },
  },
})

/** Its runs are appended by {@link addRuns}: its step never runs. */
export const bulk = defineFlow({ name: 'bulk', steps: { never: { handler: async () => 0 } } })

/** A flow with an in-code schedule (every hour: it never fires during a test). */
export const tick = defineFlow({
  name: 'tick',
  schedules: [{ id: 'tick-hourly', every: '1h', catchUp: 'none' }],
  steps: { only: { handler: async () => 1 } },
})

/** One run at a time (singleton): a second start, or a rerun, while one is active is that run. Its runs wait for a `go` event. */
export const solo = defineFlow({
  name: 'solo',
  singleton: {},
  steps: { only: { handler: async (_input, ctx) => (await ctx.await.event({ kind: 'go' })).data } },
})

/** A step name as long as names go (128 characters, no space to wrap at). */
export const LONG_NAME = `step_${'x'.repeat(123)}`

/** A flow named with 128 characters, whose step has a 128-character name and logs and returns 2,000 characters without a space. */
export const longNames = defineFlow({
  name: `flow_${'y'.repeat(123)}`,
  steps: {
    [LONG_NAME]: {
      handler: async (_input, ctx) => {
        ctx.logger.info('E'.repeat(2000))
        return 'R'.repeat(2000)
      },
    },
  },
})

/** One step that logs 250 lines: more than the logs panel shows at first. */
export const chatty = defineFlow({
  name: 'chatty',
  steps: {
    talk: {
      handler: async (_input, ctx) => {
        for (let i = 0; i < 250; i++) ctx.logger.info(`line ${i}`)
        return 250
      },
    },
  },
})

/** Steps named after Object.prototype members (the name rule allows them), chained by needs. */
export const protoNames = defineFlow({
  name: 'protoNames',
  steps: {
    constructor: { handler: async () => 1 },
    toString: { needs: ['constructor'], handler: async () => 2 },
    valueOf: { needs: ['toString'], handler: async () => 3 },
    hasOwnProperty: { needs: ['valueOf', 'constructor'], handler: async () => 4 },
  },
})

export interface DashboardServer {
  url: string
  store: RedisStreamStore
  runner: Runner
  /**
   * Takes the API down as a proxy in front of it sees it (its open streams dropped, every API
   * request answered 502 Bad Gateway), or as a server that died (`'gone'`: every API request's
   * connection cut with no answer), or brings it back; the dashboard's files are still served.
   */
  setApiDown(down: boolean | 'gone'): void
  close(): Promise<void>
}

/** Starts the runner on `redisUrl` (keys under `prefix`) and the server on a free port. */
export async function startDashboardServer(redisUrl: string, prefix: string): Promise<DashboardServer> {
  const store = createRedisStreamStore({ url: redisUrl, prefix })
  const runner = createRunner({
    store,
    flows: [quick, order, batch, wide, bulk, tick, solo, longNames, protoNames, chatty],
    onError: () => {},
  })
  // a viewer (the cookie role=viewer, sent by the page like any cookie) may not cancel; a watcher
  // (role=watcher) may follow a run's stream but not read its log otherwise
  const authorize = (req: Request, action: string) => {
    const role = /(?:^|;\s*)role=(\w+)(?:;|$)/.exec(req.headers.get('cookie') ?? '')?.[1]
    return !((role === 'viewer' && action === 'runs.cancel') || (role === 'watcher' && action === 'runs.read'))
  }
  const api = toNodeHandler(createHandler({ store, runner, basePath: '/flows', authorize }))
  const dashboard = toNodeHandler(createDashboard({ apiBase: '/flows', basePath: '/dashboard', title: 'Test flows' }))
  // a dashboard whose apiBase is wrong: it points at a page (the dashboard's own), not at the API
  const misplaced = toNodeHandler(createDashboard({ apiBase: '/dashboard', basePath: '/misplaced' }))
  // and one whose apiBase no route serves: the API's handler answers NOT_FOUND (no leanflow route there)
  const offbase = toNodeHandler(createDashboard({ apiBase: '/api', basePath: '/offbase' }))
  // and one whose apiBase an app's catch-all page answers (200 text/html for every path)
  const caught = toNodeHandler(createDashboard({ apiBase: '/app', basePath: '/caught' }))
  // and one whose API's authorize sends the browser to a login page (302 to /login)
  const guarded = toNodeHandler(createDashboard({ apiBase: '/guarded', basePath: '/signin-first' }))
  let down: boolean | 'gone' = false
  const streams = new Set<ServerResponse>()
  const server = createServer((req, res) => {
    if (req.url?.startsWith('/dashboard')) return dashboard(req, res)
    if (req.url?.startsWith('/misplaced')) return misplaced(req, res)
    if (req.url?.startsWith('/offbase')) return offbase(req, res)
    if (req.url?.startsWith('/caught')) return caught(req, res)
    if (req.url?.startsWith('/signin-first')) return guarded(req, res)
    if (req.url?.startsWith('/guarded')) return void res.writeHead(302, { location: '/login' }).end()
    if (req.url?.startsWith('/login'))
      return void res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>Sign in</body></html>')
    if (req.url?.startsWith('/app'))
      return void res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>Welcome</body></html>')
    if (down === 'gone') return void req.socket.destroy()
    if (down) return void res.writeHead(502, { 'content-type': 'text/html' }).end('<html><body>502 Bad Gateway</body></html>')
    streams.add(res)
    res.on('close', () => streams.delete(res))
    return api(req, res)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  await runner.start()
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    store,
    runner,
    setApiDown(value) {
      down = value
      if (down) for (const res of streams) res.socket?.destroy()
    },
    async close() {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await runner.stop()
      await store.close()
    },
  }
}

/** Appends `n` runs of `flow` (their `flow.started` only), 500 at a time; returns their ids. */
export async function addRuns(store: RedisStreamStore, flow: string, n: number): Promise<string[]> {
  const ids = Array.from({ length: n }, (_, i) => `${flow}-${String(i).padStart(5, '0')}`)
  for (let i = 0; i < n; i += 500) {
    await Promise.all(
      ids
        .slice(i, i + 500)
        .map((runId) =>
          store.append(runId, { kind: 'flow.started', flow: runId, data: { name: flow, input: null, steps: { never: {} } } }),
        ),
    )
  }
  return ids
}
