// What a run's start costs in Redis commands: `pnpm build && TSX_TSCONFIG_PATH=bench/tsconfig.json node --import tsx bench/startCost.ts [--runs 200] [--rounds 3]`
//
// On its own redis-server, the Redis store and, per variant, `runs` runs of one no-op step:
//   start     `startFlow` alone on a runner that only produces (BullMQ queue): the start path
//   bullmq    the whole run, started and run by one runner on BullMQ
//   split     the whole run, started by a producer runner and run by another runner (as an HTTP
//             server and a worker process do): the worker never sees the start's write in flight
//   memory    the whole run on the in-process memory queue (the store's share alone)
// Redis commands from INFO commandstats (commands inside scripts counted), per run; medians of
// `rounds`. Prints one JSON object.
import { createBullMQQueue } from '@leanflow/bullmq'
import type { EventRecord, JobQueue } from '@leanflow/core'
import { createRedisStreamStore } from '@leanflow/redis'
import { createMemoryQueue, createRunner, defineFlow } from '@leanflow/runner'
import { Redis } from 'ioredis'
import { startRedis } from '../test/helpers/redisServer.js'
import { arg, median, round } from './lib/stats.js'

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))
const one = defineFlow({ name: 'one', steps: { only: { handler: async () => null } } })

async function commands(admin: Redis): Promise<number> {
  const info = await admin.info('commandstats')
  let calls = 0
  for (const m of info.matchAll(/^cmdstat_[^:]+:calls=(\d+)/gm)) calls += Number(m[1])
  return calls
}

type Variant = 'start' | 'bullmq' | 'split' | 'memory'

async function variant(url: string, prefix: string, v: Variant) {
  let done = 0
  const bus = {
    publish(e: EventRecord) {
      if (e.kind === 'flow.completed') done++
    },
  } as never
  const store = createRedisStreamStore({ url, prefix, bus })
  const queue: JobQueue = v === 'memory' ? createMemoryQueue() : createBullMQQueue({ url, queueName: prefix })
  const producer = createRunner({ store, queue, flows: [one] })
  let worker: ReturnType<typeof createRunner> | undefined
  let workerStore: ReturnType<typeof createRedisStreamStore> | undefined
  let workerQueue: JobQueue | undefined
  if (v === 'bullmq' || v === 'memory') await producer.start()
  if (v === 'split') {
    workerStore = createRedisStreamStore({ url, prefix, bus })
    workerQueue = createBullMQQueue({ url, queueName: prefix })
    worker = createRunner({ store: workerStore, queue: workerQueue, flows: [one] })
    await worker.start()
  }
  return {
    async run(runs: number) {
      const target = done + runs
      await Promise.all(Array.from({ length: runs }, () => producer.startFlow('one', {})))
      if (v !== 'start') while (done < target) await sleep(1)
    },
    async close() {
      await worker?.stop()
      await producer.stop()
      if (v === 'start') await (queue as { obliterate?: () => Promise<void> }).obliterate?.()
      await workerQueue?.close()
      await queue.close()
      await workerStore?.close()
      await store.close()
    },
  }
}

async function main() {
  const runs = arg('runs', 200)
  const rounds = arg('rounds', 3)
  const server = await startRedis({ args: ['--appendonly', 'no'] })
  const admin = new Redis(server.url)
  const names: Variant[] = ['start', 'bullmq', 'split', 'memory']
  const out: Record<Variant, number[]> = { start: [], bullmq: [], split: [], memory: [] }
  try {
    for (const name of names) {
      const v = await variant(server.url, `sc-${name}`, name)
      await v.run(20) // warm-up: connections, scripts
      for (let r = 0; r < rounds; r++) {
        await sleep(200)
        const c0 = await commands(admin)
        await v.run(runs)
        await sleep(name === 'start' ? 0 : 100)
        out[name].push(round((await commands(admin)) - c0 - 1, 1) / runs)
      }
      await v.close()
    }
  } finally {
    admin.disconnect()
    await server.stop()
  }
  const medians = Object.fromEntries(names.map((n) => [n, round(median(out[n]), 1)]))
  console.log(JSON.stringify({ bench: 'startCost', node: process.version, runs, rounds, redisCommandsPerRun: medians, all: out }))
}

await main()
