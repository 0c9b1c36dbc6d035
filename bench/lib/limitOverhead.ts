/**
 * The cost of a limit that never binds, for bench/flowControl.ts: one runner (memory queue) on a
 * fresh `createRedisStreamStore` per batch, runs of the `oh-<variant>-<steps>` flows
 * (bench/lib/flowControlBench.ts) one at a time and 50 at a time; per batch the wall time per
 * step, this process's CPU per step, and the Redis commands and Redis time per run (INFO
 * commandstats: nothing else runs on the server meanwhile). Variants alternate within each round,
 * their order turning every round; round 0 warms up and is dropped; medians of the rest. The
 * ratios are the median of each round's ratio (`ratios`; the three variants of a round run back
 * to back, so a change of the machine's load between rounds cancels out) and, also reported, the
 * ratio of the medians (`ratioOfMedians`).
 *
 * @example
 * ```ts
 * const { results, ratios } = await overhead(url, redis, 11)
 * ```
 */
import type { EventRecord } from '@leanflow/core'
import { createRedisStreamStore } from '@leanflow/redis'
import { createRunner } from '@leanflow/runner'
import type { Redis } from 'ioredis'
import { commandStats, counter, overheadFlows, perRun, SHAPES, VARIANTS, type Variant } from './flowControlBench.js'

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d

let prefixes = 0

interface Batch {
  msPerStep: number
  /** This process's CPU (user + system) per step: the runner's Node work, steadier than wall time. */
  cpuMsPerStep: number
  redis: ReturnType<typeof perRun>
}

/** `runs` runs of `oh-<variant>-<steps>`, `parallel` at a time, on a fresh store and runner. */
async function overheadBatch(url: string, redis: Redis, variant: Variant, steps: number, runs: number, parallel: number): Promise<Batch> {
  const done = counter()
  const store = createRedisStreamStore({
    url,
    prefix: `oh${++prefixes}`,
    bus: { publish: (e: EventRecord) => e.kind === 'flow.completed' && done.add() },
  })
  const runner = createRunner({ store, flows: overheadFlows(), concurrency: parallel * 2 })
  await runner.start()
  try {
    const flow = `oh-${variant}-${steps}`
    const before = await commandStats(redis)
    const cpu = process.cpuUsage()
    const t0 = performance.now()
    for (let started = 0; started < runs; ) {
      const batch = Math.min(parallel, runs - started)
      await Promise.all(Array.from({ length: batch }, () => runner.startFlow(flow, {})))
      started += batch
      await done.reached(started)
    }
    const ms = performance.now() - t0
    const used = process.cpuUsage(cpu)
    return {
      msPerStep: ms / (runs * steps),
      cpuMsPerStep: (used.user + used.system) / 1000 / (runs * steps),
      redis: perRun(before, await commandStats(redis), runs),
    }
  } finally {
    await runner.stop()
    await store.close()
  }
}

const MODES = ['sequential', 'concurrent'] as const

/** One run at a time: 200 one-step runs, 80 five-step runs; 50 at a time: 400 and 200 runs. */
const plan = (steps: number, mode: (typeof MODES)[number]) =>
  mode === 'sequential' ? { runs: steps === 1 ? 200 : 80, parallel: 1 } : { runs: steps === 1 ? 400 : 200, parallel: 50 }

export async function overhead(url: string, redis: Redis, rounds: number) {
  const samples: Record<string, Record<Variant, Batch[]>> = {}
  for (const steps of SHAPES) for (const mode of MODES) samples[`${steps}-step ${mode}`] = { none: [], conc: [], rate: [] }
  // round 0 warms up (JIT, scripts, connections) and is dropped
  for (let r = 0; r <= rounds; r++) {
    // the variants' order turns each round, so no variant always follows the same one
    const order = VARIANTS.map((_, i) => VARIANTS[(i + r) % VARIANTS.length] as Variant)
    for (const steps of SHAPES) {
      for (const mode of MODES) {
        const { runs, parallel } = plan(steps, mode)
        for (const v of order) {
          const b = await overheadBatch(url, redis, v, steps, runs, parallel)
          if (r > 0) samples[`${steps}-step ${mode}`]![v].push(b)
        }
      }
    }
  }
  const results: Record<string, unknown> = {}
  const ratios: Record<string, { concurrency: number; rateLimit: number }> = {}
  const ratioOfMedians: Record<string, { concurrency: number; rateLimit: number }> = {}
  for (const [name, s] of Object.entries(samples)) {
    const med = (v: Variant, pick: (b: Batch) => number) => median(s[v].map(pick))
    const fig = (pick: (b: Batch) => number, d: number) =>
      Object.fromEntries(VARIANTS.map((v) => [v, round(med(v, pick), d)])) as Record<Variant, number>
    results[name] = {
      msPerStep: fig((b) => b.msPerStep, 4),
      nodeCpuMsPerStep: fig((b) => b.cpuMsPerStep, 4),
      redisCallsPerRun: fig((b) => b.redis.calls, 1),
      redisUsecPerRun: fig((b) => b.redis.usec, 1),
      cpuRatio: {
        concurrency: round(med('conc', (b) => b.cpuMsPerStep) / med('none', (b) => b.cpuMsPerStep)),
        rateLimit: round(med('rate', (b) => b.cpuMsPerStep) / med('none', (b) => b.cpuMsPerStep)),
      },
      samplesMsPerStep: Object.fromEntries(VARIANTS.map((v) => [v, s[v].map((b) => round(b.msPerStep, 4))])),
    }
    // the ratio of the medians, and the median of each round's ratio (the variants of one round
    // ran back to back, so the load the machine had then cancels out of that round's ratio)
    const paired = (v: Variant) => median(s[v].map((b, i) => b.msPerStep / (s.none[i]?.msPerStep ?? Number.NaN)))
    ratioOfMedians[name] = {
      concurrency: round(med('conc', (b) => b.msPerStep) / med('none', (b) => b.msPerStep)),
      rateLimit: round(med('rate', (b) => b.msPerStep) / med('none', (b) => b.msPerStep)),
    }
    ratios[name] = { concurrency: round(paired('conc')), rateLimit: round(paired('rate')) }
  }
  return { rounds, results, ratios, ratioOfMedians }
}
