// Parallel awaits: `pnpm build && TSX_TSCONFIG_PATH=bench/tsconfig.json node --import tsx bench/parallelAwaits.ts [--n 1000] [--kinds event,trigger,time]`
//
// One step awaits `n` non-invoke awaits at once (`Promise.all`), their kinds taken in turn from
// `--kinds` (event: `ctx.await.event` of kind `k<i>`; trigger: `ctx.await.trigger`, then its
// `wait()`; time: `ctx.await.time('1s')`), on its own redis-server (Redis store, memory queue,
// one runner of concurrency 25 in this process). Reports:
//   registerMs   from `startFlow` until every await's `step.await.*` is stored
//   registerWrites   compare-and-sets of the run's document meanwhile (its version)
//   resolveMs    from then until the run completes, every event published and every trigger
//                resolved at once (`Promise.all`; time awaits are due 1 s after they registered)
//   writes       compare-and-sets of the run's document in all
//   commands     Redis commands in all (INFO commandstats, commands inside scripts counted)
// Prints one JSON object.
import { createRedisStreamStore } from '@leanflow/redis'
import { createMemoryQueue, createRunner, defineFlow } from '@leanflow/runner'
import { Redis } from 'ioredis'
import { startRedis } from '../test/helpers/redisServer.js'

const argv = process.argv
const arg = (name: string, dflt: string): string => {
  const i = argv.indexOf(`--${name}`)
  return i > 0 ? (argv[i + 1] ?? dflt) : dflt
}
const n = Number(arg('n', '1000'))
const kinds = arg('kinds', 'event').split(',')
const range = (k: number) => Array.from({ length: k }, (_, i) => i)
const kindAt = (i: number) => kinds[i % kinds.length]

const flow = defineFlow({
  name: 'wide',
  steps: {
    all: {
      handler: async (_input, ctx) => {
        const out = await Promise.all(
          range(n).map(async (i) => {
            if (kindAt(i) === 'trigger') return (await ctx.await.trigger({ type: `t${i}` })).wait()
            if (kindAt(i) === 'time') return ctx.await.time('1s')
            return ctx.await.event({ kind: `k${i}` })
          }),
        )
        return out.length
      },
    },
  },
})

async function commands(admin: Redis): Promise<number> {
  const stats = await admin.info('commandstats')
  return [...stats.matchAll(/cmdstat_\w+:calls=(\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0)
}

async function main() {
  const redis = await startRedis({ args: ['--hz', '100'] })
  const store = createRedisStreamStore({ url: redis.url, prefix: 'pa' })
  const runner = createRunner({ store, queue: createMemoryQueue(), flows: [flow], concurrency: 25 })
  const admin = new Redis(redis.url)
  try {
    await runner.start()
    await admin.config('RESETSTAT')
    const t0 = performance.now()
    const { runId } = await runner.startFlow('wide', {})
    const before = (await store.getRunState(runId))?.version ?? 0
    const announced = async () => (await store.read(runId, { limit: 100_000 })).filter((e) => e.kind.startsWith('step.await.'))
    while ((await announced()).length < n) await new Promise((r) => setTimeout(r, 20))
    const registerMs = performance.now() - t0
    const registered = (await store.getRunState(runId))?.version ?? 0
    const t1 = performance.now()
    const triggers = (await announced()).filter((e) => e.kind === 'step.await.trigger')
    await Promise.all([
      ...range(n)
        .filter((i) => kindAt(i) === 'event')
        .map((i) => runner.publishEvent({ kind: `k${i}`, data: { i } })),
      ...triggers.map((e) => runner.resolveTrigger((e.data as { triggerId: string }).triggerId, { ok: true })),
    ])
    const result = await runner.result(runId, { timeout: '600s' })
    const resolveMs = performance.now() - t1
    const writes = (await store.getRunState(runId))?.version ?? 0
    console.log(
      JSON.stringify({
        bench: 'parallelAwaits',
        n,
        kinds,
        result,
        registerMs: Math.round(registerMs),
        registerWrites: registered - before,
        resolveMs: Math.round(resolveMs),
        writes,
        commands: await commands(admin),
      }),
    )
  } finally {
    await runner.stop()
    await store.close()
    admin.disconnect()
    await redis.stop()
  }
}
await main()
