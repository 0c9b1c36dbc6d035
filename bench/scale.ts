// Scale: `pnpm build && TSX_TSCONFIG_PATH=bench/tsconfig.json node --import tsx bench/scale.ts [--runs 100000] [--timers 10000] [--waiters 1000] [--lead 30000] [--page-calls 2000]`
//
// Starts its own redis-server (never REDIS_URL: it fills the server with 100,000 runs) and
// measures (bench/lib/scaleBench.ts), each against a baseline measured on the same server:
//   retained runs: 1,000 and then `runs` retained runs of one flow (10 events, 90% completed):
//     listRuns first page, a deep page (`before`), the `running` status page and a deep status
//     page, p50/p99 over `page-calls` calls each, the two sets timed in alternating chunks of
//     100 calls so both see the same machine — the target is that p99 does not grow with the
//     runs (ratio of the p99 at `runs` to the p99 at 1,000: ≤ 2); Redis memory per retained run
//     (used_memory delta, indexes included) ÷ the same events in bare streams
//   timers: `timers` runs awaiting `await.time`, all due within one second, resumed by one
//     in-process runner on BullMQ (concurrency 200): resume lateness p50/p99 and Redis CPU,
//     against as many BullMQ delayed jobs due within one second (one worker, concurrency 200)
//   waiters: `waiters` runs awaiting the same event kind: publishEvent to the last step.resumed,
//     against as many BullMQ jobs added in one addBulk (to the last handler start)
// Prints one JSON object.
import { startRedis } from '../test/helpers/redisServer.js'
import { comparePages, manyTimers, manyWaiters, retainedRuns } from './lib/scaleBench.js'
import { arg, round } from './lib/stats.js'

async function main() {
  const runs = arg('runs', 100_000)
  const timers = arg('timers', 10_000)
  const waiters = arg('waiters', 1_000)
  const leadMs = arg('lead', 30_000)
  const pageCalls = arg('page-calls', 2_000)
  const server = await startRedis({ args: ['--appendonly', 'no'] })
  try {
    const small = await retainedRuns(server.url, 1_000)
    const large = await retainedRuns(server.url, runs)
    const timed = await comparePages(small, large, { calls: pageCalls })
    await small.close()
    await large.close()
    console.error(`[scale] 1,000 retained runs: ${JSON.stringify(timed.a)}`)
    console.error(`[scale] ${runs} retained runs: ${JSON.stringify(timed.b)} memory ${JSON.stringify(large.memory)}`)
    const growth = Object.fromEntries(
      Object.entries(timed.b).map(([k, v]) => [k, round(v.p99 / timed.a[k as keyof typeof timed.a].p99, 2)]),
    )
    const describe = (r: typeof small, ms: typeof timed.a) => ({
      runs: r.runs,
      fillSeconds: r.fillSeconds,
      listRunsMs: ms,
      memory: r.memory,
    })
    const timer = await manyTimers(server.url, timers, { leadMs })
    console.error(`[scale] timers: ${JSON.stringify(timer)}`)
    const waiter = await manyWaiters(server.url, waiters)
    console.error(`[scale] waiters: ${JSON.stringify(waiter)}`)
    const out = {
      bench: 'scale',
      node: process.version,
      retained: { small: describe(small, timed.a), large: describe(large, timed.b), p99GrowthLargeVsSmall: growth },
      timers: timer,
      waiters: waiter,
      targets: { listRunsFlat: Object.values(growth).every((g) => g <= 2) },
    }
    console.log(JSON.stringify(out, null, 2))
  } finally {
    await server.stop()
  }
}

await main()
