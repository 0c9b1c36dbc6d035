/**
 * Rate limit accuracy for bench/flowControl.ts, on a given Redis:
 *
 * - `leanflowRate`: `total` runs of the `rated` flow (bench/lib/flowControlBench.ts) started at once
 *   on a runner (its line never empty); while they run, the limit's `active` is sampled every 10 ms
 *   through `runner.limits()` and the limit's window (a sorted set of admission times, Redis TIME) is
 *   read every 100 ms; then the logs give each run's first `step.started`. Windows over the limit and
 *   lateness come from `windowStats`.
 * - `bullmqRate`: the anchor, raw BullMQ's global rate limiter (`limiter: { max, duration }`) on the
 *   same number of jobs added ahead; admission = the job's `processedOn`, start = its handler start.
 *
 * @example
 * ```ts
 * const lf = await leanflowRate({ runner, store, redis, prefix, done, handled }, 50, 1000, 350)
 * const bq = await bullmqRate(url, 50, 1000, 350)
 * ```
 */
import type { StreamStore } from '@leanflow/core'
import { createKeys } from '@leanflow/redis'
import type { Runner } from '@leanflow/runner'
import { Queue, Worker } from 'bullmq'
import { Redis } from 'ioredis'
import { summarize } from './bullmqBaselines.js'
import { type Counter, commandStats, counter, jobsPerRun, perRun, runTimes, windowStats } from './flowControlBench.js'

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d
let anchors = 0

/** Samples the limit's `active` every 10 ms and reads its window (admission times) every 100 ms, until stopped. */
function watchRate(runner: Runner, redis: Redis, windowKey: string) {
  const admitted = new Map<string, number>()
  let maxActive = 0
  let samples = 0
  let stopped = false
  const readWindow = async () => {
    const w = await redis.zrange(windowKey, 0, -1, 'WITHSCORES')
    for (let i = 0; i < w.length; i += 2) admitted.set(w[i] as string, Number(w[i + 1]))
  }
  const sampling = (async () => {
    let lastRead = 0
    while (!stopped) {
      const rate = (await runner.limits('rated')).limits.find((l) => l.kind === 'rateLimit')
      maxActive = Math.max(maxActive, rate?.active ?? 0)
      samples++
      if (performance.now() - lastRead >= 100) {
        await readWindow()
        lastRead = performance.now()
      }
      await sleep(10)
    }
    await readWindow()
  })()
  return async () => {
    stopped = true
    await sampling
    return { maxActive, samples, admissions: [...admitted.values()] }
  }
}

/** A runner of the `rated` flow, its store, and where its completions and jobs are counted. */
export interface RateSetup {
  runner: Runner
  store: StreamStore
  redis: Redis
  prefix: string
  done: Counter
  handled: Record<string, number>
}

/** `total` runs of `rated` started at once on `s.runner`; what the limit, its window and the logs show. */
export async function leanflowRate(s: RateSetup, rate: number, periodMs: number, total: number) {
  const { runner, store, redis, done } = s
  done.reset()
  const jobs0 = { ...s.handled }
  const before = await commandStats(redis)
  const stop = watchRate(runner, redis, `${createKeys(s.prefix).limitBase('rated')}:w:rateLimit:`)
  const runIds: string[] = []
  for (let i = 0; i < total; i += 50) {
    const started = await Promise.all(Array.from({ length: Math.min(50, total - i) }, (_, k) => runner.startFlow('rated', { i: i + k })))
    runIds.push(...started.map((s) => s.runId))
  }
  await done.reached(total)
  const watched = await stop()
  const after = await commandStats(redis)
  // what the sampler's own limits() calls cost, to tell them from the runs'
  for (let i = 0; i < 20; i++) await runner.limits('rated')
  const samplerCalls = ((await commandStats(redis)).calls - after.calls - 1) / 20
  await sleep(50) // the workers' last counts
  const jobs = jobsPerRun(jobs0, { ...s.handled }, total)
  const times = (await Promise.all(runIds.map((id) => store.read(id, { limit: 100 })))).map(runTimes)
  const starts = times.map((t) => t.firstStep)
  const untilToStart = times.filter((t) => t.until !== undefined).map((t) => t.firstStep - (t.until as number))
  return {
    runs: total,
    maxActiveSampled: watched.maxActive,
    samples: watched.samples,
    admissions: windowStats(watched.admissions, rate, periodMs),
    stepStarts: windowStats(watched.admissions, rate, periodMs, starts),
    // without the first `rate` runs (admitted at once, while all the others were being started)
    stepStartsAfterTheFirstWindow: windowStats(watched.admissions, rate, periodMs, starts, rate),
    queuedUntilToStartMs: summarize(untilToStart),
    // the sampler's limits() calls included: samplerCallsPerRun of them
    redisPerRun: perRun(before, after, total),
    samplerCallsPerRun: round((samplerCalls * watched.samples) / total, 1),
    jobsPerRun: jobs,
  }
}

/** The same with raw BullMQ: `total` jobs ahead, 3 workers of concurrency 25 with `limiter: { max: rate, duration: periodMs }`. */
export async function bullmqRate(url: string, rate: number, periodMs: number, total: number) {
  const name = `fc-anchor-${process.pid}-${++anchors}`
  const connection = { url }
  const queue = new Queue(name, { connection, prefix: 'bench' })
  const seen: Array<{ processedOn: number; start: number }> = []
  const done = counter()
  const workers = Array.from(
    { length: 3 },
    () =>
      new Worker(
        name,
        async (job) => {
          seen.push({ processedOn: job.processedOn ?? Number.NaN, start: Date.now() })
          done.add()
        },
        { connection, prefix: 'bench', concurrency: 25, limiter: { max: rate, duration: periodMs }, autorun: false },
      ),
  )
  try {
    await Promise.all([queue.waitUntilReady(), ...workers.map((w) => w.waitUntilReady())])
    for (let i = 0; i < total; i += 500) {
      await queue.addBulk(
        Array.from({ length: Math.min(500, total - i) }, (_, k) => ({ name: 'j', data: { i: i + k }, opts: { removeOnComplete: true } })),
      )
    }
    const redis = new Redis(url)
    const before = await commandStats(redis)
    for (const w of workers) void w.run()
    await done.reached(total)
    const redisPerJob = perRun(before, await commandStats(redis), total)
    redis.disconnect()
    const admissions = seen.map((s) => s.processedOn)
    return {
      runs: total,
      admissions: windowStats(admissions, rate, periodMs),
      handlerStarts: windowStats(
        admissions,
        rate,
        periodMs,
        seen.map((s) => s.start),
      ),
      handlerStartsAfterTheFirstWindow: windowStats(
        admissions,
        rate,
        periodMs,
        seen.map((s) => s.start),
        rate,
      ),
      redisPerJob,
    }
  } finally {
    await Promise.all(workers.map((w) => w.close()))
    await queue.obliterate({ force: true }).catch(() => {})
    await queue.close()
  }
}
