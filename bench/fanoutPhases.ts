// Where a 1,000-child fan-out's time goes: `pnpm build && TSX_TSCONFIG_PATH=bench/tsconfig.json node --import tsx bench/fanoutPhases.ts`
//   [--queue memory|bullmq] [--fanout 1000] [--workers 2] [--concurrency 25] [--rounds 3] [--baseline]
//
// Starts its own redis-server and runs `rounds` fan-outs (one step awaiting `Promise.all` of `fanout`
// invokes of a one-step no-op flow), after a warm-up of 100. Per round, from the store's timestamps
// (ms): the parent's step.started → first / last step.await.run → first / last child flow.started →
// first / last child flow.completed → first / last step.resumed → the parent's flow.completed; and,
// counted by every process around its store, compare-and-sets of the parent's document (applied,
// conflicts) with the bytes sent, appends to the parent's log, and the CPU time of every process and
// of Redis (INFO cpu). Prints one JSON object. With --baseline each round first runs the same number
// of one-step runs started by `startFlow` (as bench/composition.ts does) and prints, on stderr, the
// fan-out's median wall and CPU ratios to them: CPU time is the steadier figure on a shared machine.

import type { ChildProcess } from 'node:child_process'
import { createBullMQQueue } from '@leanflow/bullmq'
import type { EventRecord, JobQueue } from '@leanflow/core'
import { createRedisStreamStore, type RedisStreamStore } from '@leanflow/redis'
import { createMemoryQueue, createRunner, defineFlow, type FlowDefinition } from '@leanflow/runner'
import { Redis } from 'ioredis'
import { startRedis } from '../test/helpers/redisServer.js'
import { forkBenchWorker, serveBenchWorker } from './lib/forkBenchWorker.js'

const argv = process.argv
const arg = (name: string, dflt: string): string => {
  const i = argv.indexOf(`--${name}`)
  return i > 0 ? (argv[i + 1] ?? dflt) : dflt
}
const range = (k: number) => Array.from({ length: k }, (_, i) => i)

function flows(): FlowDefinition[] {
  return [
    defineFlow({ name: 'one', steps: { a: { handler: async () => null } } }),
    defineFlow<{ k: number }>({
      name: 'fan',
      steps: {
        all: {
          handler: async (input, ctx) => {
            counts.execs++
            return (await Promise.all(range(input.k).map((i) => ctx.invoke('one', { i })))).length
          },
        },
      },
    }),
  ]
}

/** Counts, per run id of interest (`fan` parents), CAS tries / conflicts / bytes and appends. */
interface Counts {
  cas: number
  conflicts: number
  casKB: number
  replyKB: number
  appends: number
  casMs: number
  /** CPU ms of the process since it started (a worker's, when asked). */
  cpuMs: number
  /** Executions of the parent's handler. */
  execs: number
}
const zero = (): Counts => ({ cas: 0, conflicts: 0, casKB: 0, replyKB: 0, appends: 0, casMs: 0, cpuMs: 0, execs: 0 })
const counts: Counts = zero()
const parents = new Set<string>()

/** The store with counters around casRunState and append for the runs in `parents` (a plain wrapper, no mock). */
function counted(store: RedisStreamStore): RedisStreamStore {
  return new Proxy(store, {
    get(target, prop, recv) {
      const v = Reflect.get(target, prop, recv)
      if (prop === 'casRunState') {
        return async (runId: string, expected: number, doc: { flow?: string }, opts: { json?: string } = {}) => {
          const mine = doc?.flow === 'fan'
          const t0 = performance.now()
          const res = await (v as (...a: unknown[]) => Promise<{ ok: boolean; current?: { doc: unknown } }>).call(
            target,
            runId,
            expected,
            doc,
            opts,
          )
          if (mine) {
            counts.cas++
            counts.casMs += performance.now() - t0
            counts.casKB += (opts.json?.length ?? JSON.stringify(doc).length) / 1024
            if (!res.ok) {
              counts.conflicts++
              counts.replyKB += JSON.stringify(res.current?.doc ?? null).length / 1024
            }
          }
          return res
        }
      }
      if (prop === 'append') {
        return (runId: string, ...rest: unknown[]) => {
          if (parents.has(runId)) counts.appends++
          return (v as (...a: unknown[]) => unknown).call(target, runId, ...rest)
        }
      }
      return typeof v === 'function' ? v.bind(target) : v
    },
  })
}

interface Target {
  url: string
  prefix: string
  concurrency: number
}

async function worker() {
  const t = JSON.parse(process.env.BENCH_TARGET ?? '{}') as Target
  const raw = createRedisStreamStore({ url: t.url, prefix: t.prefix })
  const store = counted(raw)
  const queue = createBullMQQueue({ url: t.url, queueName: t.prefix })
  const runner = createRunner({ store, queue, flows: flows(), concurrency: t.concurrency })
  await serveBenchWorker({ runner, close: [queue, raw] }, (m: { ask?: string; parent?: string }) => {
    if (m.parent) parents.add(m.parent)
    if (m.ask === 'counts') {
      const u = process.cpuUsage()
      counts.cpuMs = (u.user + u.system) / 1000
      process.send?.({ counts: { ...counts } })
      Object.assign(counts, zero())
    }
  })
}

const ms = (e: EventRecord | undefined) => (e ? Date.parse(e.ts) : Number.NaN)

async function timeline(store: RedisStreamStore, parent: string) {
  const log = await store.read(parent, { limit: 100_000 })
  const t0 = ms(log.find((e) => e.kind === 'step.started'))
  const of = (k: string) => log.filter((e) => e.kind === k)
  const awaited = of('step.await.run')
  const resumed = of('step.resumed')
  const children = awaited.map((e) => (e.data as { childRunId: string }).childRunId)
  const starts: number[] = []
  const ends: number[] = []
  await Promise.all(
    children.map(async (c) => {
      const clog = await store.read(c, { limit: 100 })
      starts.push(ms(clog.find((e) => e.kind === 'flow.started')))
      ends.push(ms(clog.find((e) => e.kind === 'flow.completed')))
    }),
  )
  const rel = (x: number) => x - t0
  return {
    awaitRun: [rel(ms(awaited[0])), rel(ms(awaited.at(-1)))],
    childStarted: [rel(Math.min(...starts)), rel(Math.max(...starts))],
    childCompleted: [rel(Math.min(...ends)), rel(Math.max(...ends))],
    resumed: [rel(ms(resumed[0])), rel(ms(resumed.at(-1)))],
    parentStarted: of('step.started').map((e) => rel(ms(e))),
    flowCompleted: rel(ms(of('flow.completed')[0])),
  }
}

async function main() {
  const queueName = arg('queue', 'memory')
  const k = Number(arg('fanout', '1000'))
  const server = await startRedis({ args: ['--hz', '100'] })
  const prefix = `ph-${queueName}`
  const raw = createRedisStreamStore({ url: server.url, prefix })
  const store = counted(raw)
  const children: ChildProcess[] = []
  let queue: JobQueue
  if (queueName === 'memory') queue = createMemoryQueue()
  else {
    for (let i = 0; i < Number(arg('workers', '2')); i++)
      children.push(await forkBenchWorker(import.meta.url, { url: server.url, prefix, concurrency: Number(arg('concurrency', '25')) }))
    queue = createBullMQQueue({ url: server.url, queueName: prefix })
  }
  const runner = createRunner({ store, queue, flows: flows(), concurrency: Number(arg('concurrency', '25')) })
  if (queueName === 'memory') await runner.start()
  const admin = new Redis(server.url)
  const redisCpu = async () => {
    const info = await admin.info('cpu')
    const f = (k: string) => Number(new RegExp(`${k}:([\\d.]+)`).exec(info)?.[1] ?? 0)
    return (f('used_cpu_sys') + f('used_cpu_user')) * 1000
  }
  const ask = async () => {
    const u = process.cpuUsage()
    counts.cpuMs = (u.user + u.system) / 1000
    const all = [{ ...counts }]
    Object.assign(counts, zero())
    for (const c of children) {
      all.push(
        await new Promise<Counts>((resolve) => {
          const on = (m: { counts?: Counts }) => {
            if (!m.counts) return
            c.off('message', on)
            resolve(m.counts)
          }
          c.on('message', on)
          c.send({ ask: 'counts' })
        }),
      )
    }
    const sum = zero()
    for (const c of all) for (const key of Object.keys(sum) as Array<keyof Counts>) sum[key] += c[key]
    for (const key of Object.keys(sum) as Array<keyof Counts>) sum[key] = Math.round(sum[key])
    return sum
  }
  const rounds: Array<Record<string, unknown>> = []
  const base: Array<{ wallMs: number; cpuMs: number }> = []
  try {
    for (let r = 0; r <= Number(arg('rounds', '3')); r++) {
      const n = r === 0 ? 100 : k
      const runId = `fan${r}x${Date.now()}`
      parents.add(runId)
      for (const c of children) c.send({ parent: runId })
      if (argv.includes('--baseline')) {
        // the same n runs started by startFlow, just before: wall and CPU (every process and Redis)
        const c0 = (await ask()).cpuMs + (await redisCpu())
        const t = performance.now()
        const started = await Promise.all(range(n).map((i) => runner.startFlow('one', { i })))
        await Promise.all(started.map((s) => runner.result(s.runId, { timeout: 600_000 })))
        const wallMs = Math.round(performance.now() - t)
        const cpuMs = Math.round((await ask()).cpuMs + (await redisCpu()) - c0)
        if (r > 0) base.push({ wallMs, cpuMs })
      }
      const c0 = (await ask()).cpuMs + (await redisCpu())
      const t = performance.now()
      await runner.startFlow('fan', { k: n }, { runId })
      await runner.result(runId, { timeout: 600_000 })
      const wallMs = Math.round(performance.now() - t)
      const c = await ask()
      const cpuMs = Math.round(c.cpuMs + (await redisCpu()) - c0)
      if (r > 0) rounds.push({ wallMs, ...c, cpuMs, timeline: await timeline(raw, runId) })
    }
    if (base.length > 0) {
      const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number
      const ratio = (f: (i: number) => number) => med(rounds.map((_, i) => f(i)))
      console.error(
        JSON.stringify({
          wallRatio: Math.round(ratio((i) => (rounds[i]?.wallMs as number) / (base[i]?.wallMs as number)) * 100) / 100,
          cpuRatio: Math.round(ratio((i) => (rounds[i]?.cpuMs as number) / (base[i]?.cpuMs as number)) * 100) / 100,
          base,
          fan: rounds.map((x) => ({ wallMs: x.wallMs, cpuMs: x.cpuMs })),
        }),
      )
    }
    console.log(JSON.stringify({ queue: queueName, fanout: k, rounds }, null, 1))
  } finally {
    await runner.stop()
    for (const c of children) c.kill('SIGTERM')
    await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : null)))
    await queue.close()
    await raw.close()
    admin.disconnect()
    await server.stop()
  }
}

if (argv.includes('--worker')) await worker()
else
  await main().catch((err) => {
    console.error(err)
    process.exit(1)
  })
