// The Postgres example store beside the Redis store, on one machine in one run:
//   pnpm exec tsx examples/postgres-store/bench.ts [--rounds 3] [--appends 1000]
// Starts its own redis-server and PostgreSQL cluster (test/helpers), then measures, rounds
// alternating between the stores (medians of the rounds):
//   append: one run, appends one after the other (ms each, p50);
//   follow: an append until a live follower has it (ms, p50);
//   one chained step: a flow of 10 no-op steps with createRunner and the memory queue, one flow
//     at a time (ms per step).
// Prints one JSON object with each figure and the ratio postgres / redis. No target: the point is
// the port, not the speed.
import type { EventRecord, NewEvent, StreamStore } from '@leanflow/core'
import { createRedisStreamStore } from '@leanflow/redis'
import { createRunner, type RunnerStore } from '@leanflow/runner'
import { benchFlows } from '../../bench/lib/benchFlows.js'
import { arg, median, percentile, round } from '../../bench/lib/stats.js'
import { startPostgres } from '../../test/helpers/postgresServer.js'
import { startRedis } from '../../test/helpers/redisServer.js'
import { createPostgresStreamStore } from './postgresStreamStore.js'

const rounds = arg('rounds', 3)
const appends = arg('appends', 1000)
const ev = (runId: string, i: number): NewEvent => ({
  kind: 'step.completed',
  flow: runId,
  step: 'charge',
  data: { result: { i }, duration: 1 },
})
let n = 0
const runId = (p: string) => `${p}${++n}x${Date.now()}`

async function appendMs(store: StreamStore): Promise<number> {
  const id = runId('a')
  const ms: number[] = []
  for (let i = 0; i < appends; i++) {
    const t = performance.now()
    await store.append(id, ev(id, i))
    ms.push(performance.now() - t)
  }
  return percentile(ms, 50)
}

async function followMs(store: StreamStore): Promise<number> {
  const id = runId('f')
  const ac = new AbortController()
  let got: (e: EventRecord) => void = () => {}
  const following = (async () => {
    for await (const e of store.follow(id, { signal: ac.signal })) got(e)
  })()
  await store.append(id, ev(id, -1)) // the follower is subscribed once it has this one
  await new Promise<void>((r) => (got = () => r()))
  const ms: number[] = []
  for (let i = 0; i < Math.min(appends, 300); i++) {
    const arrived = new Promise<void>((r) => (got = () => r()))
    const t = performance.now()
    await store.append(id, ev(id, i))
    await arrived
    ms.push(performance.now() - t)
  }
  ac.abort()
  await following
  return percentile(ms, 50)
}

async function chainedStepMs(store: RunnerStore, flows = 10): Promise<number> {
  let done: () => void = () => {}
  const runner = createRunner({ store, flows: benchFlows(), concurrency: 4 })
  runner.start()
  const t = performance.now()
  for (let i = 0; i < flows; i++) {
    const { runId: id } = await runner.startFlow('noop10', {})
    const end = new Promise<void>((r) => (done = r))
    const watch = (async () => {
      for await (const e of store.follow(id)) if (e.kind === 'flow.completed') return done()
    })()
    await end
    await watch
  }
  const perStep = (performance.now() - t) / (flows * 10)
  await runner.stop()
  return perStep
}

const redis = await startRedis({ args: ['--appendonly', 'no'] })
const pg = await startPostgres()
try {
  const stores = {
    redis: async () => createRedisStreamStore({ url: redis.url, prefix: runId('b') }),
    postgres: async () => createPostgresStreamStore({ connectionString: pg.url, schema: runId('b') }),
  }
  const figures: Record<string, Record<string, number[]>> = { redis: {}, postgres: {} }
  const put = (store: string, what: string, v: number) => {
    figures[store]![what] ??= []
    figures[store]![what]!.push(v)
  }
  for (let r = 0; r < rounds; r++) {
    for (const [name, make] of Object.entries(stores)) {
      const store = await make()
      put(name, 'appendMs', await appendMs(store))
      put(name, 'followMs', await followMs(store))
      put(name, 'chainedStepMs', await chainedStepMs(store))
      await store.close()
    }
  }
  const out: Record<string, unknown> = { rounds, appends }
  for (const what of ['appendMs', 'followMs', 'chainedStepMs']) {
    const rd = median(figures.redis![what]!)
    const pgv = median(figures.postgres![what]!)
    out[what] = { redis: round(rd, 3), postgres: round(pgv, 3), ratio: round(pgv / rd, 2) }
  }
  console.log(JSON.stringify(out, null, 2))
} finally {
  await pg.stop()
  await redis.stop()
}
