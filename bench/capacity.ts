// Capacity: `pnpm build && TSX_TSCONFIG_PATH=bench/tsconfig.json node --import tsx bench/capacity.ts [--flows 200] [--steps 10]`
//
// What one step costs Redis, the input of the capacity model in docs/scaling.md. On its own
// redis-server, then on a 3-master Redis Cluster it starts, runs `flows` runs of `steps` chained
// no-op steps through a runner in this process (BullMQ queue, concurrency 50), once to warm up and
// once measured, and reads from every master before and after (INFO commandstats, cpu, stats,
// memory): Redis commands, Redis CPU µs, network bytes in and out, per step; memory per retained
// run (used_memory after − before, the runs kept); the same with the in-process memory queue
// gives the store's share (the rest is the queue's). On the Cluster it gives each master's share:
// the runs' keys spread over the slots, the queue (one hash tag) sits on one master. The model's
// figure, steps/s one master carries at one busy core, is 1e6 ÷ (Redis CPU µs per step on it).
// Prints one JSON object.
import { createBullMQQueue } from '@leanflow/bullmq'
import type { EventRecord, JobQueue } from '@leanflow/core'
import { createRedisStreamStore, type RedisStreamStore } from '@leanflow/redis'
import { createMemoryQueue, createRunner, defineFlow } from '@leanflow/runner'
import { Cluster, Redis } from 'ioredis'
import { startRedisCluster } from '../test/helpers/redisCluster.js'
import { startRedis } from '../test/helpers/redisServer.js'
import { arg, pool, round } from './lib/stats.js'

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

interface Sample {
  calls: number
  cpuUs: number
  netIn: number
  netOut: number
  memory: number
}

async function sample(r: Redis): Promise<Sample> {
  const info = await r.info('everything')
  const num = (name: string) => Number(info.match(new RegExp(`^${name}:([\\d.]+)`, 'm'))?.[1] ?? 0)
  let calls = 0
  for (const m of info.matchAll(/^cmdstat_[^:]+:calls=(\d+)/gm)) calls += Number(m[1])
  return {
    calls,
    cpuUs: (num('used_cpu_sys') + num('used_cpu_user')) * 1e6,
    netIn: num('total_net_input_bytes'),
    netOut: num('total_net_output_bytes'),
    memory: num('used_memory'),
  }
}

function chain(steps: number) {
  const defs: Record<string, { needs?: string[]; handler: () => Promise<null> }> = {}
  for (let i = 0; i < steps; i++) defs[`s${i}`] = { needs: i === 0 ? [] : [`s${i - 1}`], handler: async () => null }
  return defineFlow({ name: 'chain', steps: defs })
}

async function ended(store: RedisStreamStore, runIds: string[]): Promise<void> {
  const deadline = Date.now() + 600_000
  const left = new Set(runIds)
  while (left.size > 0) {
    await pool(left.size, 64, async (i) => {
      const id = [...left][i]
      if (!id) return
      const [last] = (await store.read(id, { direction: 'backward', limit: 1 })) as EventRecord[]
      if (last?.kind === 'flow.completed') left.delete(id)
      else if (last?.kind === 'flow.failed') throw new Error(`bench: run ${id} failed`)
    })
    if (Date.now() > deadline) throw new Error(`bench: ${left.size} runs unfinished`)
    if (left.size > 0) await sleep(100)
  }
}

/** Runs `flows` chains twice (warm-up, measured) and returns each master's deltas of the measured round. */
async function measure(masters: Redis[], store: RedisStreamStore, queueOf: () => JobQueue, flows: number, steps: number) {
  const queue = queueOf()
  const runner = createRunner({ store, queue, flows: [chain(steps)], concurrency: 50 })
  await runner.start()
  try {
    const round1 = async () => {
      const ids: string[] = []
      await pool(flows, 50, async () => {
        ids.push((await runner.startFlow('chain', {})).runId)
      })
      await ended(store, ids)
    }
    await round1()
    await sleep(500)
    const before = await Promise.all(masters.map(sample))
    const t0 = performance.now()
    const cpu0 = process.cpuUsage()
    await round1()
    const seconds = (performance.now() - t0) / 1000
    const cpu = process.cpuUsage(cpu0)
    await sleep(500) // the BullMQ worker's last acks
    const after = await Promise.all(masters.map(sample))
    const total = flows * steps
    const per = masters.map((_, i) => {
      const a = after[i]!
      const b = before[i]!
      return {
        commandsPerStep: round((a.calls - b.calls) / total, 1),
        cpuUsPerStep: round((a.cpuUs - b.cpuUs) / total, 1),
        netBytesInPerStep: Math.round((a.netIn - b.netIn) / total),
        netBytesOutPerStep: Math.round((a.netOut - b.netOut) / total),
        memoryBytesPerRetainedRun: Math.round((a.memory - b.memory) / flows),
      }
    })
    const sum = (k: keyof (typeof per)[number]) =>
      round(
        per.reduce((s, p) => s + p[k], 0),
        1,
      )
    return {
      flows,
      steps,
      stepsPerSec: Math.round(total / seconds),
      // the runner's process (this one; the bench's own polling for the runs' ends included)
      nodeCpuUsPerStep: round((cpu.user + cpu.system) / total, 1),
      perMaster: per,
      total: {
        commandsPerStep: sum('commandsPerStep'),
        cpuUsPerStep: sum('cpuUsPerStep'),
        netBytesInPerStep: sum('netBytesInPerStep'),
        netBytesOutPerStep: sum('netBytesOutPerStep'),
        memoryBytesPerRetainedRun: sum('memoryBytesPerRetainedRun'),
      },
      // one master at one busy core: the busiest master bounds the whole
      modelStepsPerSecAtOneBusyCore: Math.round(1e6 / Math.max(...per.map((p) => p.cpuUsPerStep))),
    }
  } finally {
    await runner.stop()
    await queue.close()
  }
}

async function main() {
  const flows = arg('flows', 200)
  const steps = arg('steps', 10)
  const single = await startRedis({ args: ['--appendonly', 'no'] })
  let one: Awaited<ReturnType<typeof measure>>
  let storeOnly: Awaited<ReturnType<typeof measure>>
  try {
    const admin = new Redis(single.url)
    const store = createRedisStreamStore({ url: single.url, prefix: 'cap' })
    one = await measure([admin], store, () => createBullMQQueue({ url: single.url, queueName: 'cap' }), flows, steps)
    // the same runs with the in-process memory queue: the store's share of a step alone
    storeOnly = await measure([admin], store, () => createMemoryQueue(), flows, steps)
    await store.close()
    admin.disconnect()
  } finally {
    await single.stop()
  }
  console.error(`[capacity] one master: ${JSON.stringify(one)}`)
  console.error(`[capacity] one master, memory queue: ${JSON.stringify(storeOnly)}`)
  const cluster = await startRedisCluster(3)
  let three: Awaited<ReturnType<typeof measure>>
  try {
    const client = new Cluster(cluster.nodes)
    const masters = cluster.nodes.map((n) => new Redis(n.port, n.host))
    const store = createRedisStreamStore({ redis: client, prefix: 'cap' })
    three = await measure(masters, store, () => createBullMQQueue({ connection: client, prefix: '{lfq}', queueName: 'cap' }), flows, steps)
    await store.close()
    for (const m of masters) m.disconnect()
    client.disconnect()
  } finally {
    await cluster.stop()
  }
  console.error(`[capacity] 3 masters: ${JSON.stringify(three)}`)
  console.log(
    JSON.stringify(
      { bench: 'capacity', node: process.version, oneMaster: one, oneMasterMemoryQueue: storeOnly, threeMasters: three },
      null,
      2,
    ),
  )
}

await main()
