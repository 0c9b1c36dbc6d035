// Where a step's time goes: `pnpm build && TSX_TSCONFIG_PATH=bench/tsconfig.json node --import tsx bench/stepCost.ts [--rounds 5] [--flows 50] [--batches 4] [--only bullmq|runner|memory]`
//
// Issue #20 asks the runner on BullMQ for ≥ 1.0× a raw BullMQ chain's steps/s, and to write
// down first where a step's time goes. On its own redis-server, in this one process, rounds
// alternating so all three see the same machine load, `batches` × `flows` concurrent runs of
// 10 chained no-op steps through:
//   bullmq   raw BullMQ: each job adds the next (as bench/lib/bullmqBaselines.ts), one worker
//   runner   createRunner + createBullMQQueue + createRedisStreamStore, concurrency `flows`
//   memory   the same runner with the in-process memory queue (the store's share alone)
// and for each, per step: Node CPU µs (process.cpuUsage: the handler's process, BullMQ's
// client and this bench's polling included), Redis CPU µs and commands (INFO cpu and
// commandstats, commands inside scripts counted), socket writes (net.Socket writes and
// writevs: each one a syscall), and steps/s. Both sides are bound by CPU on this 2-core
// machine (one process and redis-server share it), so steps/s follows 1 ÷ (Node + Redis CPU
// per step). Medians of `rounds`. `--only <variant>` measures one of them (for a CPU profile:
// `node --cpu-prof --import tsx bench/stepCost.ts --only memory`). Prints one JSON object.
import net from 'node:net'
import { createBullMQQueue } from '@leanflow/bullmq'
import type { EventRecord } from '@leanflow/core'
import { createRedisStreamStore } from '@leanflow/redis'
import { createMemoryQueue, createRunner } from '@leanflow/runner'
import { Queue, Worker } from 'bullmq'
import { Redis } from 'ioredis'
import { startRedis } from '../test/helpers/redisServer.js'
import { benchFlows } from './lib/benchFlows.js'
import { arg, median, round } from './lib/stats.js'

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

/** Socket writes (syscalls) made by this process, counted at the net.Socket layer. */
const writes = { n: 0 }
{
  const proto = net.Socket.prototype as unknown as Record<string, (...a: unknown[]) => unknown>
  for (const name of ['_write', '_writev'] as const) {
    const orig = proto[name]!
    proto[name] = function (this: unknown, ...a: unknown[]) {
      writes.n++
      return orig.apply(this, a)
    }
  }
}

interface Cost {
  stepsPerSec: number
  nodeCpuUs: number
  redisCpuUs: number
  redisCommands: number
  socketWrites: number
}

async function redisCounters(r: Redis): Promise<{ calls: number; cpuUs: number }> {
  const info = await r.info('everything')
  const num = (name: string) => Number(info.match(new RegExp(`^${name}:([\\d.]+)`, 'm'))?.[1] ?? 0)
  let calls = 0
  for (const m of info.matchAll(/^cmdstat_[^:]+:calls=(\d+)/gm)) calls += Number(m[1])
  return { calls, cpuUs: (num('used_cpu_sys') + num('used_cpu_user')) * 1e6 }
}

/** Measures `work` (which makes `steps` steps): per-step costs. */
async function measured(admin: Redis, steps: number, work: () => Promise<void>): Promise<Cost> {
  const r0 = await redisCounters(admin)
  const w0 = writes.n
  const c0 = process.cpuUsage()
  const t0 = performance.now()
  await work()
  const seconds = (performance.now() - t0) / 1000
  const c = process.cpuUsage(c0)
  const w = writes.n - w0
  const r1 = await redisCounters(admin)
  return {
    stepsPerSec: Math.round(steps / seconds),
    nodeCpuUs: round((c.user + c.system) / steps, 1),
    redisCpuUs: round((r1.cpuUs - r0.cpuUs) / steps, 1),
    redisCommands: round((r1.calls - r0.calls - 1) / steps, 1), // less this INFO
    socketWrites: round((w - 1) / steps, 2),
  }
}

/** The runner on `queue`: `batches` × `flows` runs of 10 no-op steps, `flows` at a time. */
async function runnerRounds(url: string, prefix: string, bullmq: boolean, flows: number, batches: number) {
  let done = 0
  const store = createRedisStreamStore({
    url,
    prefix,
    bus: {
      publish(e: EventRecord) {
        if (e.kind === 'flow.completed' || e.kind === 'flow.failed') done++
      },
    } as never,
  })
  const queue = bullmq ? createBullMQQueue({ url, queueName: prefix }) : createMemoryQueue()
  const runner = createRunner({ store, queue, flows: benchFlows(), concurrency: flows })
  await runner.start()
  const run = async () => {
    const target = done + flows * batches
    for (let b = 0; b < batches; b++) {
      const until = done + flows
      await Promise.all(Array.from({ length: flows }, () => runner.startFlow('noop10', {})))
      while (done < until) await sleep(1)
    }
    if (done !== target) throw new Error(`bench: ${done} runs ended, expected ${target}`)
  }
  return {
    run,
    async close() {
      await runner.stop()
      await queue.close()
      await store.close()
    },
  }
}

/**
 * Raw BullMQ chains as bench/lib/bullmqBaselines.ts's `bullmqChain` makes them (each job adds
 * the next, `removeOnComplete`), on one queue and worker kept open across rounds so that only
 * the steps are measured, not the worker's start.
 */
async function chainRounds(url: string, name: string, flows: number, batches: number) {
  let finished = 0
  const queue = new Queue(name, { connection: { url } })
  const worker = new Worker(
    name,
    async (job) => {
      const { step } = job.data as { step: number }
      if (step + 1 < 10) await queue.add('step', { step: step + 1 }, { removeOnComplete: true })
      else finished++
    },
    { connection: { url }, concurrency: flows },
  )
  await Promise.all([queue.waitUntilReady(), worker.waitUntilReady()])
  await sleep(50) // the worker's first blocking pop
  const run = async () => {
    for (let b = 0; b < batches; b++) {
      const until = finished + flows
      await Promise.all(Array.from({ length: flows }, () => queue.add('step', { step: 0 }, { removeOnComplete: true })))
      while (finished < until) await sleep(1)
    }
  }
  return {
    run,
    async close() {
      await worker.close()
      await queue.obliterate({ force: true }).catch(() => {})
      await queue.close()
    },
  }
}

async function main() {
  const rounds = arg('rounds', 5)
  const flows = arg('flows', 50)
  const batches = arg('batches', 4)
  const steps = flows * batches * 10
  const server = await startRedis({ args: ['--appendonly', 'no'] })
  const admin = new Redis(server.url)
  const runner = await runnerRounds(server.url, 'cost-b', true, flows, batches)
  const memory = await runnerRounds(server.url, 'cost-m', false, flows, batches)
  const bull = await chainRounds(server.url, 'cost-chain', flows, batches)
  const chain = bull.run
  const out: Record<'bullmq' | 'runner' | 'memory', Cost[]> = { bullmq: [], runner: [], memory: [] }
  const variants = { bullmq: chain, runner: runner.run, memory: memory.run }
  const i = process.argv.indexOf('--only')
  const only = i > 0 ? (process.argv[i + 1] as keyof typeof variants) : undefined
  if (only !== undefined && !(only in variants)) throw new Error(`--only ${only}: use bullmq, runner or memory`)
  const chosen = only ? [only] : (['bullmq', 'runner', 'memory'] as const)
  try {
    for (const v of chosen) for (let w = 0; w < 3; w++) await variants[v]() // warm-up
    for (let r = 0; r < rounds; r++) {
      for (const v of chosen) {
        await sleep(200)
        out[v].push(await measured(admin, steps, variants[v]))
      }
    }
  } finally {
    await bull.close()
    await runner.close()
    await memory.close()
    admin.disconnect()
    await server.stop()
  }
  const med = (xs: Cost[]): Cost => ({
    stepsPerSec: median(xs.map((x) => x.stepsPerSec)),
    nodeCpuUs: median(xs.map((x) => x.nodeCpuUs)),
    redisCpuUs: median(xs.map((x) => x.redisCpuUs)),
    redisCommands: median(xs.map((x) => x.redisCommands)),
    socketWrites: median(xs.map((x) => x.socketWrites)),
  })
  const m = { bullmq: med(out.bullmq), runner: med(out.runner), memory: med(out.memory) }
  const cpu = (c: Cost) => c.nodeCpuUs + c.redisCpuUs
  console.log(
    JSON.stringify(
      {
        bench: 'stepCost',
        node: process.version,
        flows,
        batches,
        rounds,
        medians: m,
        ratios: {
          runnerStepsPerSec: round(m.runner.stepsPerSec / m.bullmq.stepsPerSec),
          memoryQueueStepsPerSec: round(m.memory.stepsPerSec / m.bullmq.stepsPerSec),
          // what the CPU allows: BullMQ's CPU per step ÷ the runner's
          runnerCpuBound: round(cpu(m.bullmq) / cpu(m.runner)),
          memoryQueueCpuBound: round(cpu(m.bullmq) / cpu(m.memory)),
        },
        rounds_: out,
      },
      null,
      2,
    ),
  )
}

await main()
