// The runner in one process (memory queue): `pnpm exec tsx bench/runner.ts [--hz 10] [--rounds 3] [--flows 50] [--sleepers 200]`
//
// Starts its own redis-server (`--hz <hz>`), then measures on it, rounds alternating
// between baseline and runner so both see the same machine load (medians reported):
//   baselines (bench/lib/bullmqBaselines.ts, raw BullMQ, same server):
//     one chain of no-op jobs where each job adds the next (ms per step);
//     `flows` concurrent chains of 10 (steps/s); no-op jobs/s; 100 ms delayed-job lateness
//   the runner (createRunner + createMemoryQueue) on createRedisStreamStore:
//     per-step time of one flow of 10 no-op steps at a time (target ≤ 1.3× the BullMQ chained step)
//     `flows` concurrent flows of 10 no-op steps, steps/s (target ≥ 0.5× BullMQ chained steps/s)
//     resume lateness after ctx.await.time(100): step.resumed ts − resumeAt
//       (target p99 ≤ BullMQ delayed-job p99 + 5 ms at the same hz)
//   the runner on createMemoryStreamStore: `flows` concurrent flows, steps/s
// Prints one JSON object.

import { createMemoryStreamStore, type EventRecord } from '@leanflow/core'
import { createRedisStreamStore } from '@leanflow/redis'
import { createRunner, type RunnerStore } from '@leanflow/runner'
import { startRedis } from '../test/helpers/redisServer.js'
import { benchFlows } from './lib/benchFlows.js'
import { bullmqChain, bullmqDelayLateness, bullmqNoop, summarize } from './lib/bullmqBaselines.js'

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? (process.argv[i + 1] ?? dflt) : dflt
}
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d

/** A store plus a count of finished runs, seen through the store's bus. */
function counted(make: (bus: { publish(e: EventRecord): void }) => RunnerStore) {
  let done = 0
  const store = make({
    publish(e) {
      if (e.kind === 'flow.completed' || e.kind === 'flow.failed') done++
    },
  })
  return { store, done: () => done }
}

async function until(count: () => number, n: number) {
  const deadline = Date.now() + 300_000
  while (count() < n) {
    if (Date.now() > deadline) throw new Error(`bench stuck at ${count()}/${n}`)
    await sleep(1)
  }
}

/** `n` flows of 10 no-op steps, `parallel` at a time: steps/s and ms per step. */
async function runFlows(make: () => ReturnType<typeof counted>, n: number, parallel: number) {
  const { store, done } = make()
  const runner = createRunner({ store, flows: benchFlows(), concurrency: Math.max(parallel, 1) * 2 })
  await runner.start()
  try {
    const t0 = performance.now()
    let started = 0
    while (started < n) {
      const batch = Math.min(parallel, n - started)
      await Promise.all(Array.from({ length: batch }, () => runner.startFlow('noop10', {})))
      started += batch
      await until(done, started)
    }
    const seconds = (performance.now() - t0) / 1000
    return { stepsPerSec: Math.round((n * 10) / seconds), msPerStep: round((seconds * 1000) / (n * 10), 3) }
  } finally {
    await runner.stop()
    await store.close()
  }
}

/** Resume lateness after ctx.await.time(100): step.resumed ts − resumeAt (store clock), ms. */
async function resumeLateness(make: () => ReturnType<typeof counted>, sleepers: number) {
  const { store, done } = make()
  const runner = createRunner({ store, flows: benchFlows(), concurrency: 50 })
  await runner.start()
  try {
    const ids: string[] = []
    for (let i = 0; i < sleepers; i++) {
      ids.push((await runner.startFlow('sleepy', { ms: 100 })).runId)
      await sleep(7)
    }
    await until(done, sleepers)
    const late: number[] = []
    for (const id of ids) {
      const log = await store.read(id)
      const awaited = log.find((e) => e.kind === 'step.await.time')
      const resumed = log.find((e) => e.kind === 'step.resumed')
      late.push(Date.parse(resumed?.ts ?? '') - Date.parse((awaited?.data as { resumeAt?: string } | undefined)?.resumeAt ?? ''))
    }
    return late
  } finally {
    await runner.stop()
    await store.close()
  }
}

async function main() {
  const hz = Number(arg('hz', '10'))
  const rounds = Number(arg('rounds', '3'))
  const n = Number(arg('flows', '50'))
  const sleepers = Number(arg('sleepers', '200'))
  const server = await startRedis({ args: ['--hz', String(hz)] })
  let p = 0
  const redis = () => counted((bus) => createRedisStreamStore({ url: server.url, prefix: `bench${++p}`, bus }))
  const memory = () => counted((bus) => createMemoryStreamStore({ bus: bus as never, retention: '1m' }))
  try {
    await runFlows(redis, 20, 1) // warm-up
    await bullmqChain({ url: server.url, chains: 1, steps: 50 })
    const seq = { bullmq: [] as number[], runner: [] as number[] }
    const par = { bullmq: [] as number[], runner: [] as number[], memory: [] as number[] }
    for (let r = 0; r < rounds; r++) {
      const one = await bullmqChain({ url: server.url, chains: 1, steps: 200 })
      seq.bullmq.push((one.seconds * 1000) / 200)
      seq.runner.push((await runFlows(redis, 20, 1)).msPerStep)
      par.bullmq.push((await bullmqChain({ url: server.url, chains: n, steps: 10 })).stepsPerSec)
      par.runner.push((await runFlows(redis, n, n)).stepsPerSec)
      par.memory.push((await runFlows(memory, n * 4, n)).stepsPerSec)
    }
    const noop = await bullmqNoop({ url: server.url })
    const delayed = await bullmqDelayLateness({ url: server.url, delayMs: 100, jobs: sleepers })
    const late = summarize(await resumeLateness(redis, sleepers))
    const out = {
      hz,
      rounds,
      bullmq: {
        noopJobsPerSec: noop.jobsPerSec,
        chainedStepMs: round(median(seq.bullmq), 3),
        chainedStepsPerSec: median(par.bullmq),
        delayLatenessMs: delayed.latenessMs,
      },
      runnerRedis: {
        stepMs: round(median(seq.runner), 3),
        stepsPerSec: median(par.runner),
        resumeLatenessMs: late,
      },
      runnerMemory: { stepsPerSec: median(par.memory) },
      ratios: {
        stepOverheadVsBullmqChainedStep: round(median(seq.runner) / median(seq.bullmq)),
        concurrentStepsPerSecVsBullmqChain: round(median(par.runner) / median(par.bullmq)),
        resumeP99MinusBullmqDelayP99Ms: round(late.p99 - delayed.latenessMs.p99, 1),
        memoryStepsPerSecVsBullmqNoop: round(median(par.memory) / noop.jobsPerSec),
      },
      targets: { stepOverhead: '<= 1.3', concurrent: '>= 0.5', resumeP99: '<= +5 ms' },
      samples: { seq, par },
    }
    console.log(JSON.stringify(out, null, 2))
  } finally {
    await server.stop()
  }
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
