// The runner on BullMQ: `pnpm exec tsx bench/runner-bullmq.ts [--hz 10,100] [--flows 50] [--sleepers 200] [--rounds 7]`
//
// For each `hz`, starts its own redis-server (`--hz <hz>`), then measures, on it:
//   baselines (bench/lib/bullmqBaselines.ts, raw BullMQ in this process):
//     no-op jobs/s; `flows` chains of 10 jobs where each adds the next (steps/s);
//     lateness of jobs delayed 100 ms (p50/p99)
//   the runner (createRunner + createBullMQQueue + createRedisStreamStore) with
//   2 worker processes (this script with --worker, concurrency 25 each):
//     `flows` concurrent flows of 10 no-op steps: steps/s, from the first
//       flow.started to the last flow.completed (store timestamps)
//     resume lateness after ctx.await.time(100): step.resumed ts − resumeAt,
//       `sleepers` runs started 7 ms apart
// Targets: runner steps/s ≥ 0.5 × BullMQ chained steps/s; resume lateness p99 ≤
// BullMQ delayed-job p99 + 5 ms. Throughputs are the median of `rounds` rounds
// (after 3 warm-up rounds each), baseline and runner rounds alternating so both
// see the same machine load; latenesses are pooled over `rounds` alternating
// chunks of `sleepers / rounds` runs. Prints one JSON object.

import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { createBullMQQueue } from '@leanflow/bullmq'
import type { EventRecord, StreamStore } from '@leanflow/core'
import { createRedisStreamStore } from '@leanflow/redis'
import { createRunner } from '@leanflow/runner'
import { startRedis } from '../test/helpers/redisServer.js'
import { benchFlows } from './lib/benchFlows.js'
import { bullmqChain, bullmqDelayLateness, bullmqNoop, summarize } from './lib/bullmqBaselines.js'

const argv = process.argv
const arg = (name: string, dflt: string): string => {
  const i = argv.indexOf(`--${name}`)
  return i > 0 ? (argv[i + 1] ?? dflt) : dflt
}
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

interface Target {
  url: string
  queueName: string
  prefix: string
}
const connect = (t: Target) => {
  const store = createRedisStreamStore({ url: t.url, prefix: t.prefix })
  const queue = createBullMQQueue({ url: t.url, queueName: t.queueName })
  return { store, queue }
}

/** Polls (every 50 ms, cheap) until each run has a terminal event; returns the logs. */
async function finished(store: StreamStore, runIds: string[]): Promise<EventRecord[][]> {
  const pending = new Set(runIds)
  const logs: EventRecord[][] = []
  const deadline = Date.now() + 300_000
  while (pending.size > 0) {
    await Promise.all(
      [...pending].map(async (runId) => {
        const [last] = await store.read(runId, { direction: 'backward', limit: 1 })
        if (!last?.kind.startsWith('flow.') || last.kind === 'flow.started') return
        if (last.kind !== 'flow.completed') throw new Error(`run ${runId} ended with ${last.kind}`)
        pending.delete(runId)
        logs.push(await store.read(runId, { limit: 10_000 }))
      }),
    )
    if (Date.now() > deadline) throw new Error(`${pending.size} runs unfinished`)
    if (pending.size > 0) await sleep(50)
  }
  return logs
}

const tsOf = (e: EventRecord | undefined) => (e ? Date.parse(e.ts) : Number.NaN)

async function runnerThroughput(store: StreamStore, start: (name: string, input: unknown) => Promise<string>, flows: number) {
  const runIds = await Promise.all(Array.from({ length: flows }, () => start('noop10', {})))
  const logs = await finished(store, runIds)
  const first = Math.min(...logs.map((l) => tsOf(l.find((e) => e.kind === 'flow.started'))))
  const last = Math.max(...logs.map((l) => tsOf(l.find((e) => e.kind === 'flow.completed'))))
  const seconds = Math.max(1, last - first) / 1000
  return { flows, steps: flows * 10, seconds, stepsPerSec: Math.round((flows * 10) / seconds) }
}

async function runnerLateness(store: StreamStore, start: (name: string, input: unknown) => Promise<string>, sleepers: number) {
  const runIds: string[] = []
  for (let i = 0; i < sleepers; i++) {
    runIds.push(await start('sleepy', { ms: 100 }))
    await sleep(7)
  }
  const logs = await finished(store, runIds)
  const lateness = logs.map((l) => {
    const awaited = l.find((e) => e.kind === 'step.await.time')
    const resumed = l.find((e) => e.kind === 'step.resumed')
    const resumeAt = (awaited?.data as { resumeAt?: string } | undefined)?.resumeAt ?? ''
    return tsOf(resumed) - Date.parse(resumeAt)
  })
  return { samples: lateness, early: lateness.filter((x) => x < 0).length }
}

async function measure(hz: number, flows: number, sleepers: number, rounds: number) {
  const redis = await startRedis({ args: ['--hz', String(hz)] })
  const children: ReturnType<typeof fork>[] = []
  try {
    const noop = await bullmqNoop({ url: redis.url, jobs: 5000 })

    const target: Target = { url: redis.url, queueName: `runner-${hz}`, prefix: `rb${hz}` }
    const self = fileURLToPath(import.meta.url)
    for (let i = 0; i < 2; i++) {
      const child = fork(self, ['--worker'], {
        cwd: fileURLToPath(new URL('..', import.meta.url)),
        execArgv: ['--import', 'tsx'],
        env: {
          ...process.env,
          BENCH_TARGET: JSON.stringify(target),
          TSX_TSCONFIG_PATH: fileURLToPath(new URL('../tsconfig.json', import.meta.url)),
        },
      })
      children.push(child)
      await new Promise<void>((resolve, reject) => {
        child.once('message', () => resolve())
        child.once('exit', (code) => reject(new Error(`bench worker exited ${code}`)))
      })
    }
    const { store, queue } = connect(target)
    const producer = createRunner({ store, queue, flows: benchFlows() })
    const start = async (name: string, input: unknown) => (await producer.startFlow(name, input)).runId
    try {
      // Baseline and runner rounds alternate, so both see the same machine load.
      for (let r = 0; r < 3; r++) {
        // warm-ups (JIT, connections, Lua script cache) in every process
        await bullmqChain({ url: redis.url, chains: flows, steps: 10 })
        await runnerThroughput(store, start, flows)
      }
      const chains = []
      const tp = []
      for (let r = 0; r < rounds; r++) {
        chains.push(await bullmqChain({ url: redis.url, chains: flows, steps: 10 }))
        tp.push(await runnerThroughput(store, start, flows))
      }
      const median = <T extends { stepsPerSec: number }>(xs: T[]) =>
        [...xs].sort((a, b) => a.stepsPerSec - b.stepsPerSec)[Math.floor(xs.length / 2)]!
      const chain = median(chains)
      const throughput = median(tp)
      const bullLate: number[] = []
      const runLate: number[] = []
      let early = 0
      const chunk = Math.max(1, Math.ceil(sleepers / rounds))
      for (let r = 0; r < rounds; r++) {
        const d = await bullmqDelayLateness({ url: redis.url, jobs: chunk, delayMs: 100 })
        bullLate.push(...d.samples)
        early += d.early
        const resume = await runnerLateness(store, start, chunk)
        runLate.push(...resume.samples)
        early += resume.early
      }
      const delayed = { jobs: bullLate.length, delayMs: 100, latenessMs: summarize(bullLate) }
      const resume = { runs: runLate.length, delayMs: 100, latenessMs: summarize(runLate) }
      return {
        hz,
        baselines: { bullmqNoop: noop, bullmqChain: chain, bullmqDelayed: delayed },
        runner: { throughput, resume, early },
        rounds: { bullmqChainStepsPerSec: chains.map((c) => c.stepsPerSec), runnerStepsPerSec: tp.map((t) => t.stepsPerSec) },
        ratios: {
          stepsPerSecVsBullmqChain: Math.round((throughput.stepsPerSec / chain.stepsPerSec) * 100) / 100,
          resumeP99MinusBullmqDelayedP99Ms: Math.round((resume.latenessMs.p99 - delayed.latenessMs.p99) * 10) / 10,
        },
        targets: {
          stepsPerSec: throughput.stepsPerSec >= 0.5 * chain.stepsPerSec,
          resumeP99: resume.latenessMs.p99 <= delayed.latenessMs.p99 + 5,
        },
      }
    } finally {
      await queue.close()
      await store.close()
    }
  } finally {
    for (const c of children) c.kill('SIGTERM')
    await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : null)))
    await redis.stop()
  }
}

async function main() {
  const hzs = arg('hz', '10,100').split(',').map(Number)
  const flows = Number(arg('flows', '50'))
  const sleepers = Number(arg('sleepers', '200'))
  const rounds = Number(arg('rounds', '7'))
  const results = []
  for (const hz of hzs) results.push(await measure(hz, flows, sleepers, rounds))
  console.log(JSON.stringify({ bench: 'runner-bullmq', node: process.version, results }, null, 2))
}

// ---- worker process ------------------------------------------------------
if (argv.includes('--worker')) {
  const t = JSON.parse(process.env.BENCH_TARGET ?? '{}') as Target
  const { store, queue } = connect(t)
  const runner = createRunner({ store, queue, flows: benchFlows(), concurrency: 25 })
  await runner.start()
  process.send?.('ready')
  process.once('SIGTERM', async () => {
    await runner.stop()
    await queue.close()
    await store.close()
    process.exit(0)
  })
} else {
  await main()
}
