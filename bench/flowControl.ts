// Flow control (issue #14): `pnpm build && TSX_TSCONFIG_PATH=bench/tsconfig.json node --import tsx bench/flowControl.ts`
//   [--hz 100] [--rounds 11] [--runs 1000] [--keys 100] [--work-ms 5] [--serial-rounds 3] [--workers 3]
//   [--rate 50] [--seconds 6] [--rate-rounds 2] [--only overhead,serial,rate]
//
// `--only` runs the parts named (comma-separated; all three by default): `overhead` (1.), `serial`
// (2.), `rate` (3. and 4.); the figures of a part left out are absent from the JSON.
//
// Starts its own redis-server (`--hz 100`) and measures on it, baseline and subject rounds
// alternating so both see the same machine load (medians reported; the flows and the analyses are in
// bench/lib/flowControlBench.ts):
//   1. a limit that never binds (bench/lib/limitOverhead.ts): one runner (memory queue, Redis store),
//      runs of 1 and of 5 chained no-op steps without limits, with `concurrency: { limit: 10000 }`
//      and with `rateLimit: { limit: 1000000, period: '1s' }`: ms per step one run at a time, and 50
//      runs at a time (target: ≤ 1.25× the per-step cost without the limit)
//   2. `runs` runs over `keys` keys with `concurrency: { limit: 1, key }` on `workers` worker
//      processes (this script with --worker, BullMQ queue, concurrency 25 each), against the same
//      runs without the limit: the most handlers of one key at once (a Redis counter per key entered
//      and left by the handlers, its most kept by a Lua script; must be 1), overlapping runs of one
//      key in the logs (must be 0), runs/s from the first flow.started to the last flow.completed
//      (target ≥ 0.5× unlimited), and the Redis commands and jobs per run
//   3. rate limit accuracy (bench/lib/rateBench.ts): `rateLimit: { limit: rate, period: '1s' }`,
//      `rate × (seconds + 1)` runs started at once (the line never empty), on the worker processes
//      (BullMQ queue) and on one runner with the memory queue: the limit's `active` sampled every
//      10 ms through `runner.limits()` (must stay ≤ rate), the admission times read from the limit's
//      window in Redis, and the step starts: windows over the limit (must be 0) and lateness (target
//      p99 ≤ 20 ms)
//   4. anchor: BullMQ's global rate limiter, `new Worker(name, fn, { limiter: { max: rate,
//      duration: 1000 } })`, 3 workers of concurrency 25, the same jobs added ahead: the same
//      figures from each job's `processedOn` and its handler start
// About 2 minutes with the defaults.
// Prints one JSON object last.

import type { ChildProcess } from 'node:child_process'
import { createBullMQQueue } from '@leanflow/bullmq'
import type { EventRecord } from '@leanflow/core'
import { createRedisStreamStore } from '@leanflow/redis'
import { createMemoryQueue, createRunner, type Runner } from '@leanflow/runner'
import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import { startRedis } from '../test/helpers/redisServer.js'
import {
  type Counter,
  commandStats,
  counter,
  countingQueue,
  jobsPerRun,
  keyOverlaps,
  maxKey,
  perRun,
  ratedFlow,
  runTimes,
  serialFlows,
  type windowStats,
} from './lib/flowControlBench.js'
import { forkBenchWorker } from './lib/forkBenchWorker.js'
import { overhead } from './lib/limitOverhead.js'
import { bullmqRate, leanflowRate, type RateSetup } from './lib/rateBench.js'

const argv = process.argv
const arg = (name: string, dflt: number): number => {
  const i = argv.indexOf(`--${name}`)
  return i > 0 ? Number(argv[i + 1]) : dflt
}
const only = argv.includes('--only') ? (argv[argv.indexOf('--only') + 1] ?? '').split(',') : ['overhead', 'serial', 'rate']
const part = (name: 'overhead' | 'serial' | 'rate') => only.includes(name)
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d
const PERIOD_MS = 1000

/** What the worker processes need: the server, their store prefix and queue, the flows' parameters. */
interface Target {
  url: string
  prefix: string
  queueName: string
  workMs: number
  rate: number
}

// ---- worker processes -------------------------------------------------------------------

/** Forks `n` worker processes; their completed runs count into `done`, the jobs they take into `handled`. */
async function forkWorkers(target: Target, n: number, done: Counter, handled: Record<string, number>) {
  const children: ChildProcess[] = []
  for (let i = 0; i < n; i++) {
    const child = await forkBenchWorker(import.meta.url, target)
    children.push(child)
    child.on('message', (m: { done?: number; jobs?: Record<string, number> }) => {
      for (const [name, k] of Object.entries(m.jobs ?? {})) handled[name] = (handled[name] ?? 0) + k
      done.add(m.done ?? 0)
    })
  }
  return {
    async stop() {
      for (const c of children) c.kill('SIGTERM')
      await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : null)))
    },
  }
}

async function worker() {
  const t = JSON.parse(process.env.BENCH_TARGET ?? '{}') as Target
  const redis = new Redis(t.url)
  // completions and jobs taken go to the parent every 5 ms (its throughput comes from the store's timestamps)
  let done = 0
  const handled: Record<string, number> = {}
  const flush = setInterval(() => {
    if (done > 0 || Object.keys(handled).length > 0) process.send?.({ done, jobs: { ...handled } })
    done = 0
    for (const name of Object.keys(handled)) delete handled[name]
  }, 5)
  const store = createRedisStreamStore({
    url: t.url,
    prefix: t.prefix,
    bus: { publish: (e: EventRecord) => e.kind === 'flow.completed' && done++ },
  })
  const bullmq = createBullMQQueue({ url: t.url, queueName: t.queueName })
  const queue = countingQueue(bullmq, handled)
  const runner = createRunner({ store, queue, flows: [...serialFlows(redis, t.workMs), ratedFlow(t.rate, PERIOD_MS)], concurrency: 25 })
  await runner.start()
  process.send?.('ready')
  process.once('SIGTERM', async () => {
    clearInterval(flush)
    await runner.stop()
    await queue.close()
    await store.close()
    redis.disconnect()
    process.exit(0)
  })
}

// ---- 2. limit 1 per key on worker processes -------------------------------------------------

interface Bench {
  url: string
  redis: Redis
  target: Target
  producer: Runner
  store: ReturnType<typeof createRedisStreamStore>
  done: Counter
  /** Jobs the workers took, by name, since the start. */
  handled: Record<string, number>
  jobs: Queue
}

/** Waits until the BullMQ queue holds no job (the admit backstops of queued runs fire after 2 s). */
async function drain(c: Bench) {
  const t0 = performance.now()
  for (;;) {
    const n = await c.jobs.getJobCounts('wait', 'delayed', 'active', 'prioritized')
    if (Object.values(n).every((x) => x === 0)) return performance.now() - t0
    if (performance.now() - t0 > 120_000) throw new Error(`queue not drained: ${JSON.stringify(n)}`)
    await sleep(50)
  }
}

async function serialRound(c: Bench, flow: 'ser-keyed' | 'ser-free', ns: string, runs: number, keys: number) {
  c.done.reset()
  const jobs0 = { ...c.handled }
  const before = await commandStats(c.redis)
  const t0 = performance.now()
  const runIds: string[] = []
  for (let i = 0; i < runs; i += 100) {
    const batch = Array.from({ length: Math.min(100, runs - i) }, (_, k) => ({ ns, key: `k${(i + k) % keys}` }))
    const started = await Promise.all(batch.map((input) => c.producer.startFlow(flow, input)))
    runIds.push(...started.map((s) => s.runId))
  }
  await c.done.reached(runs)
  const wallMs = performance.now() - t0
  const during = await commandStats(c.redis)
  const jobs1 = { ...c.handled }
  const drainMs = await drain(c)
  await sleep(50) // the workers' last counts
  const after = await commandStats(c.redis)
  const logs = await Promise.all(runIds.map((id) => c.store.read(id, { limit: 100 })))
  const times = logs.map((l, i) => ({ ...runTimes(l), key: `k${i % keys}` }))
  const first = Math.min(...times.map((t) => t.started))
  const last = Math.max(...times.map((t) => t.completed))
  const most = Object.values(await c.redis.hgetall(maxKey(ns))).map(Number)
  return {
    runsPerSec: Math.round(runs / ((last - first) / 1000)),
    wallMs: Math.round(wallMs),
    handlersOfOneKeyAtOnce: { max: Math.max(...most), keysOver1: most.filter((m) => m > 1).length, keys: most.length },
    logs: keyOverlaps(times),
    redisPerRun: perRun(before, during, runs),
    jobsPerRun: jobsPerRun(jobs0, jobs1, runs),
    // after the last run completed, until the queue held no job
    redisPerRunAfterTheEnd: perRun(during, after, runs),
    jobsPerRunAfterTheEnd: jobsPerRun(jobs1, { ...c.handled }, runs),
    drainMs: Math.round(drainMs),
  }
}

async function serialization(c: Bench, rounds: number, runs: number, keys: number) {
  await serialRound(c, 'ser-free', 'ser:warm:free', runs, keys) // warm-up (JIT, scripts) in every process
  await serialRound(c, 'ser-keyed', 'ser:warm:keyed', runs, keys)
  type Round = Awaited<ReturnType<typeof serialRound>>
  const free: Round[] = []
  const keyed: Round[] = []
  for (let r = 0; r < rounds; r++) {
    free.push(await serialRound(c, 'ser-free', `ser:${r}:free`, runs, keys))
    keyed.push(await serialRound(c, 'ser-keyed', `ser:${r}:keyed`, runs, keys))
  }
  const med = (xs: Round[]) => [...xs].sort((a, b) => a.runsPerSec - b.runsPerSec)[Math.floor(xs.length / 2)]!
  return {
    runs,
    keys,
    rounds,
    unlimited: med(free),
    limited: med(keyed),
    // the serialization figures over every round, not only the median one
    limitedMaxHandlersOfOneKey: Math.max(...keyed.map((k) => k.handlersOfOneKeyAtOnce.max)),
    limitedOverlapsInLogs: keyed.reduce((n, k) => n + k.logs.overlaps, 0),
    unlimitedMaxHandlersOfOneKey: Math.max(...free.map((k) => k.handlersOfOneKeyAtOnce.max)),
    ratio: round(med(keyed).runsPerSec / med(free).runsPerSec),
    samples: { unlimitedRunsPerSec: free.map((f) => f.runsPerSec), limitedRunsPerSec: keyed.map((k) => k.runsPerSec) },
  }
}

// ---- 3. and 4. rate limit accuracy, and BullMQ's limiter --------------------------------------

async function rateAccuracy(c: Bench, rate: number, seconds: number, rounds: number) {
  const total = rate * (seconds + 1)
  const memDone = counter()
  const memPrefix = 'fcmem'
  const memStore = createRedisStreamStore({
    url: c.url,
    prefix: memPrefix,
    bus: { publish: (e: EventRecord) => e.kind === 'flow.completed' && memDone.add() },
  })
  const memHandled: Record<string, number> = {}
  const memQueue = countingQueue(createMemoryQueue(), memHandled)
  const memRunner = createRunner({ store: memStore, queue: memQueue, flows: [ratedFlow(rate, PERIOD_MS)], concurrency: 75 })
  await memRunner.start()
  const workers: RateSetup = {
    runner: c.producer,
    store: c.store,
    redis: c.redis,
    prefix: c.target.prefix,
    done: c.done,
    handled: c.handled,
  }
  const memory: RateSetup = { runner: memRunner, store: memStore, redis: c.redis, prefix: memPrefix, done: memDone, handled: memHandled }
  const out = { workers: [] as unknown[], memoryQueue: [] as unknown[], bullmq: [] as unknown[] }
  try {
    for (let r = 0; r < rounds; r++) {
      out.workers.push(await leanflowRate(workers, rate, PERIOD_MS, total))
      await drain(c)
      await sleep(PERIOD_MS)
      out.bullmq.push(await bullmqRate(c.url, rate, PERIOD_MS, total))
      out.memoryQueue.push(await leanflowRate(memory, rate, PERIOD_MS, total))
      await sleep(PERIOD_MS)
    }
  } finally {
    await memRunner.stop()
    await memStore.close()
  }
  return { rate, periodMs: PERIOD_MS, runsPerRound: total, rounds, ...out }
}

// ---- main -------------------------------------------------------------------------------------

async function main() {
  const hz = arg('hz', 100)
  const server = await startRedis({ args: ['--hz', String(hz)] })
  const redis = new Redis(server.url)
  try {
    const t0 = performance.now()
    const oh = part('overhead') ? await overhead(server.url, redis, arg('rounds', 11)) : undefined
    const t1 = performance.now()
    if (!part('serial') && !part('rate')) {
      console.log(JSON.stringify({ ...report(hz, oh, undefined, undefined), seconds: { overhead: round((t1 - t0) / 1000, 1) } }, null, 2))
      return
    }
    const target: Target = { url: server.url, prefix: 'fc', queueName: 'fc', workMs: arg('work-ms', 5), rate: arg('rate', 50) }
    const done = counter()
    const handled: Record<string, number> = {}
    const workers = await forkWorkers(target, arg('workers', 3), done, handled)
    const store = createRedisStreamStore({ url: server.url, prefix: target.prefix })
    const queue = createBullMQQueue({ url: server.url, queueName: target.queueName })
    const producer = createRunner({ store, queue, flows: [...serialFlows(redis, target.workMs), ratedFlow(target.rate, PERIOD_MS)] })
    const jobs = new Queue(target.queueName, { connection: { url: server.url }, prefix: 'lfq' })
    const c: Bench = { url: server.url, redis, target, producer, store, done, handled, jobs }
    try {
      const serial = part('serial') ? await serialization(c, arg('serial-rounds', 3), arg('runs', 1000), arg('keys', 100)) : undefined
      const t2 = performance.now()
      const rates = part('rate') ? await rateAccuracy(c, target.rate, arg('seconds', 6), arg('rate-rounds', 2)) : undefined
      const seconds = {
        overhead: round((t1 - t0) / 1000, 1),
        serialization: round((t2 - t1) / 1000, 1),
        rateLimit: round((performance.now() - t2) / 1000, 1),
      }
      console.log(JSON.stringify({ ...report(hz, oh, serial, rates), seconds }, null, 2))
    } finally {
      await workers.stop()
      await jobs.close()
      await queue.close()
      await store.close()
    }
  } finally {
    redis.disconnect()
    await server.stop()
  }
}

type RateRound = { admissions: ReturnType<typeof windowStats>; maxActiveSampled?: number }

function report(
  hz: number,
  oh: Awaited<ReturnType<typeof overhead>> | undefined,
  serial: Awaited<ReturnType<typeof serialization>> | undefined,
  rates: Awaited<ReturnType<typeof rateAccuracy>> | undefined,
) {
  const worst = (rs: unknown[], pick: (r: RateRound) => number) => Math.max(...(rs as RateRound[]).map(pick))
  const lateP99 = (rs: unknown[]) => worst(rs, (r) => r.admissions.latenessMs.p99)
  const over = (rs: unknown[]) => (rs as RateRound[]).reduce((n, r) => n + r.admissions.overLimit, 0)
  const oh1 = oh && Math.max(...Object.values(oh.ratios).flatMap((r) => [r.concurrency, r.rateLimit]))
  return {
    bench: 'flowControl',
    node: process.version,
    hz,
    overhead: oh,
    serialization: serial,
    rateLimit: rates,
    ratios: {
      neverBindingLimitWorstPerStep: oh1,
      limitedVsUnlimitedRunsPerSec: serial?.ratio,
      ...(rates && {
        rateOverLimitWorkers: over(rates.workers),
        rateOverLimitMemoryQueue: over(rates.memoryQueue),
        rateOverLimitBullmq: over(rates.bullmq),
        rateLatenessP99MsWorkers: lateP99(rates.workers),
        rateLatenessP99MsMemoryQueue: lateP99(rates.memoryQueue),
        rateLatenessP99MsBullmq: lateP99(rates.bullmq),
      }),
    },
    targets: {
      ...(oh1 !== undefined && { neverBindingLimit: { target: '<= 1.25x per step', met: oh1 <= 1.25 } }),
      ...(serial && {
        serialized: {
          target: 'max 1 handler of a key at once, 0 overlaps',
          met: serial.limitedMaxHandlersOfOneKey === 1 && serial.limitedOverlapsInLogs === 0,
        },
        serialThroughput: { target: '>= 0.5x unlimited', met: serial.ratio >= 0.5 },
      }),
      ...(rates && {
        rateWindows: {
          target: '0 windows over the limit',
          met:
            over(rates.workers) === 0 &&
            over(rates.memoryQueue) === 0 &&
            worst(rates.workers, (r) => r.maxActiveSampled ?? 0) <= rates.rate,
        },
        rateLateness: { target: 'p99 <= 20 ms', met: lateP99(rates.workers) <= 20 && lateP99(rates.memoryQueue) <= 20 },
      }),
    },
  }
}

if (argv.includes('--worker')) await worker()
else
  await main().catch((err) => {
    console.error(err)
    process.exit(1)
  })
