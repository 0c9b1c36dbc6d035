// The order-approval demo. `pnpm demo` serves the page (PORT, default 3000);
// `pnpm demo --once` runs one order headless and exits; `pnpm demo --worker` (with REDIS_URL)
// only executes steps, sharing the work with the server process.
import { createBackend } from './backend.js'
import { LIVE_TIMINGS } from './flows.js'
import { runOnce } from './once.js'
import { startDemoServer } from './server.js'

const args = new Set(process.argv.slice(2))
const redisUrl = process.env.REDIS_URL || undefined
const port = Number(process.env.PORT ?? 3000)

function onSignal(close: () => Promise<void>): void {
  let closing = false
  const stop = () => {
    if (closing) return
    closing = true
    close().then(
      () => process.exit(0),
      (err) => {
        console.error(err)
        process.exit(1)
      },
    )
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
}

if (args.has('--once')) {
  // a hard stop in case anything hangs (runOnce itself gives up after 60 s)
  setTimeout(() => {
    console.error('[once] gave up after 70 s')
    process.exit(1)
  }, 70_000).unref()
  // a headless check of the flows: in memory always, so it never shares work with a demo on Redis
  if (redisUrl) console.log('[once] runs in memory: REDIS_URL is for `pnpm demo` and `pnpm demo --worker`')
  const { ok, runId, state } = await runOnce().catch((err: unknown) => {
    console.error('[once] failed:', err)
    process.exit(1)
  })
  console.log(JSON.stringify({ runId, ...state }, null, 2))
  console.log(ok ? `[once] run ${runId} completed` : `[once] run ${runId} did not complete (status ${state.status})`)
  process.exit(ok ? 0 : 1)
} else if (args.has('--worker')) {
  if (!redisUrl) {
    console.error('[worker] --worker shares work through Redis: set REDIS_URL=redis://127.0.0.1:6379 (and run the server with it too)')
    process.exit(1)
  }
  const backend = createBackend({ redisUrl, timings: LIVE_TIMINGS, baseUrl: `http://localhost:${port}` })
  await backend.runner.start()
  console.log(`[worker] executing steps on ${backend.mode}; Ctrl-C stops (running steps finish or go back to the queue)`)
  onSignal(() => backend.close())
} else {
  const demo = await startDemoServer({ port, redisUrl })
  console.log(`[demo] leanflow order-approval demo on ${demo.backend.mode}`)
  console.log(`[demo] open ${demo.url} (the demo's page) or ${demo.url}/dashboard/ (the dashboard)`)
  onSignal(() => demo.close())
}
