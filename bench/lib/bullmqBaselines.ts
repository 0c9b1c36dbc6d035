/**
 * BullMQ baselines, measured on a given Redis so a benchmark can report its
 * figures as ratios to them (same run, same server, same `hz`). Raw BullMQ
 * (no leanflow code), one process, `removeOnComplete: true` as
 * `createBullMQQueue` uses:
 *
 * - `bullmqNoop`: no-op jobs/s (all added first with `addBulk`, then timed
 *   from worker start to the last completion).
 * - `bullmqChain`: `chains` concurrent chains of `steps` jobs where each job
 *   adds the next one (what a runner does between steps): steps/s, and the
 *   per-step latency from `add` of the next job to its handler start.
 * - `bullmqDelayLateness`: jobs added with `delay`, lateness = handler start
 *   − (add time + delay), p50/p99/max. Depends on Redis `hz` (the blocking
 *   pop's timeout resolution): ~100 ms late at the default `hz 10`.
 *
 * @example
 * ```ts
 * import { bullmqChain, bullmqDelayLateness, bullmqNoop } from './lib/bullmqBaselines.ts'
 * const noop = await bullmqNoop({ url })
 * const chain = await bullmqChain({ url, chains: 50, steps: 10 })
 * const late = await bullmqDelayLateness({ url, delayMs: 100 })
 * ```
 */
import { type Job, Queue, Worker } from 'bullmq'
import { Redis } from 'ioredis'

let seq = 0
const uniqueName = (what: string) => `bench-${what}-${process.pid}-${Date.now()}-${++seq}`
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

/** p-th percentile (0–100) of `values` (nearest rank), 0 when empty. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[rank] ?? 0
}

/** p50, p99 and max of `values`, rounded to 0.1 ms. */
export function summarize(values: number[]): { p50: number; p99: number; max: number; n: number } {
  const r = (x: number) => Math.round(x * 10) / 10
  return { p50: r(percentile(values, 50)), p99: r(percentile(values, 99)), max: r(Math.max(0, ...values)), n: values.length }
}

/** The server's `hz` (timer frequency), which bounds delayed-job precision. */
export async function redisHz(url: string): Promise<number> {
  const client = new Redis(url)
  try {
    const [, hz] = (await client.config('GET', 'hz')) as [string, string]
    return Number(hz)
  } finally {
    client.disconnect()
  }
}

interface Common {
  url: string
  /** BullMQ prefix. @default 'bench' */
  prefix?: string
  /** Worker concurrency. */
  concurrency?: number
}

/** Opens a queue and a worker on a fresh queue name; `close` removes the queue's keys. */
async function open(opts: Common, what: string, processor: (job: Job) => Promise<void>, concurrency: number) {
  const name = uniqueName(what)
  const prefix = opts.prefix ?? 'bench'
  const queue = new Queue(name, { connection: { url: opts.url }, prefix })
  const worker = new Worker(name, processor, { connection: { url: opts.url }, prefix, concurrency, autorun: false })
  worker.on('error', (err) => console.error(`[bench ${what}] ${err.message}`))
  await Promise.all([queue.waitUntilReady(), worker.waitUntilReady()])
  return {
    queue,
    worker,
    async close() {
      await worker.close()
      await queue.obliterate({ force: true }).catch(() => {})
      await queue.close()
    },
  }
}

/** Resolves when `count()` reaches `n` (polled every 2 ms). */
async function until(count: () => number, n: number, what: string, timeoutMs = 300_000) {
  const deadline = Date.now() + timeoutMs
  while (count() < n) {
    if (Date.now() > deadline) throw new Error(`bench: ${what} stuck at ${count()}/${n}`)
    await sleep(2)
  }
}

/** No-op jobs/s through one BullMQ worker. */
export async function bullmqNoop(opts: Common & { jobs?: number }): Promise<{ jobs: number; seconds: number; jobsPerSec: number }> {
  const jobs = opts.jobs ?? 5000
  let done = 0
  const q = await open(
    opts,
    'noop',
    async () => {
      done++
    },
    opts.concurrency ?? 50,
  )
  try {
    for (let i = 0; i < jobs; i += 1000) {
      const batch = Array.from({ length: Math.min(1000, jobs - i) }, (_, k) => ({
        name: 'noop',
        data: { i: i + k },
        opts: { removeOnComplete: true },
      }))
      await q.queue.addBulk(batch)
    }
    const t0 = performance.now()
    void q.worker.run()
    await until(() => done, jobs, 'noop jobs')
    const seconds = (performance.now() - t0) / 1000
    return { jobs, seconds: Math.round(seconds * 1000) / 1000, jobsPerSec: Math.round(jobs / seconds) }
  } finally {
    await q.close()
  }
}

/** Result of {@link bullmqChain}. */
export interface ChainResult {
  chains: number
  steps: number
  seconds: number
  stepsPerSec: number
  /** From `add` of a step's job to its handler start, ms. */
  stepLatencyMs: { p50: number; p99: number; max: number; n: number }
}

/** `chains` concurrent chains of `steps` no-op jobs, each job adding the next. */
export async function bullmqChain(opts: Common & { chains?: number; steps?: number }): Promise<ChainResult> {
  const chains = opts.chains ?? 50
  const steps = opts.steps ?? 10
  const latencies: number[] = []
  let finished = 0
  const q = await open(
    opts,
    'chain',
    async (job) => {
      const { chain, step, addedAt } = job.data as { chain: number; step: number; addedAt: number }
      latencies.push(performance.timeOrigin + performance.now() - addedAt)
      if (step + 1 < steps) {
        await q.queue.add(
          'step',
          { chain, step: step + 1, addedAt: performance.timeOrigin + performance.now() },
          { removeOnComplete: true },
        )
      } else finished++
    },
    opts.concurrency ?? chains,
  )
  try {
    void q.worker.run()
    await sleep(50) // the worker's first blocking pop
    const t0 = performance.now()
    await Promise.all(
      Array.from({ length: chains }, (_, chain) =>
        q.queue.add('step', { chain, step: 0, addedAt: performance.timeOrigin + performance.now() }, { removeOnComplete: true }),
      ),
    )
    await until(() => finished, chains, 'chains')
    const seconds = (performance.now() - t0) / 1000
    return {
      chains,
      steps,
      seconds: Math.round(seconds * 1000) / 1000,
      stepsPerSec: Math.round((chains * steps) / seconds),
      stepLatencyMs: summarize(latencies),
    }
  } finally {
    await q.close()
  }
}

/** Result of {@link bullmqDelayLateness}. */
export interface LatenessResult {
  jobs: number
  delayMs: number
  hz: number
  /** Handler start − (add time + delay), ms. */
  latenessMs: { p50: number; p99: number; max: number; n: number }
  /** Jobs that started before their delay had passed (must be 0). */
  early: number
  /** Every job's lateness, ms, in start order (to pool several calls). */
  samples: number[]
}

/**
 * Lateness of delayed jobs: `jobs` jobs with `delay: delayMs`, added one
 * every `spacingMs` (so each waits on its own, as runner awaits do).
 */
export async function bullmqDelayLateness(opts: Common & { jobs?: number; delayMs?: number; spacingMs?: number }): Promise<LatenessResult> {
  const jobs = opts.jobs ?? 200
  const delayMs = opts.delayMs ?? 100
  const spacingMs = opts.spacingMs ?? 7
  const lateness: number[] = []
  let early = 0
  const q = await open(
    opts,
    'delay',
    async (job) => {
      const due = (job.data as { addedAt: number }).addedAt + delayMs
      const late = Date.now() - due
      if (late < 0) early++
      lateness.push(late)
    },
    opts.concurrency ?? 50,
  )
  try {
    void q.worker.run()
    await sleep(50)
    for (let i = 0; i < jobs; i++) {
      // Date.now(): BullMQ schedules by the producer's Date.now() + delay.
      await q.queue.add('delayed', { addedAt: Date.now() }, { delay: delayMs, removeOnComplete: true })
      await sleep(spacingMs)
    }
    await until(() => lateness.length, jobs, 'delayed jobs')
    return { jobs, delayMs, hz: await redisHz(opts.url), latenessMs: summarize(lateness), early, samples: lateness }
  } finally {
    await q.close()
  }
}
