// Parallel awaits: `TSX_TSCONFIG_PATH=bench/tsconfig.json node --import tsx bench/parallelAwaits.ts [--n 1000] [--kinds event,trigger,time]`
//
// One step awaits `n` non-invoke awaits at once (`Promise.all`), kinds taken in turn from
// `--kinds` (event: `ctx.await.event` of kind `k<i>`; trigger: `ctx.await.trigger` then its
// `wait()`; time: `ctx.await.time('1s')`), on its own redis-server (Redis store, memory queue,
// one runner). Reports the time until every await is announced (its `step.await.*` appended),
// the compare-and-sets of the run's document meanwhile (its version) and the Redis commands,
// then the time until the run completes once every event is published and every trigger resolved.
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

const flow = defineFlow({
  name: 'wide',
  steps: {
    all: {
      handler: async (_input, ctx) => {
        if (argv.includes('--trace')) console.error('handler', Math.round(performance.now()))
        const out = await Promise.all(
          range(n).map(async (i) => {
            const kind = kinds[i % kinds.length]
            if (kind === 'trigger') return (await ctx.await.trigger({ type: `t${i}` })).wait()
            if (kind === 'time') return ctx.await.time('1s')
            return ctx.await.event({ kind: `k${i}` }).then((e) => {
              if (argv.includes('--trace') && i % 25 === 0) console.error('got', i, Math.round(performance.now()))
              return e
            })
          }),
        )
        if (argv.includes('--trace')) console.error('all', Math.round(performance.now()))
        return out.length
      },
    },
  },
})

async function main() {
  const redis = await startRedis({ args: ['--hz', '100'] })
  const store = createRedisStreamStore({ url: redis.url, prefix: 'pa' })
  const runner = createRunner({
    store,
    queue: createMemoryQueue(),
    flows: [flow],
    concurrency: 25,
    onError: (e) => console.error('onError', String(e).slice(0, 300)),
  })
  const admin = new Redis(redis.url)
  try {
    await runner.start()
    await admin.config('RESETSTAT')
    const t0 = performance.now()
    const { runId } = await runner.startFlow('wide', {})
    const before = (await store.getRunState(runId))?.version ?? 0
    let announced = 0
    for (;;) {
      const events = await store.read(runId, { limit: 100_000 })
      announced = events.filter((e) => e.kind.startsWith('step.await.')).length
      if (announced >= n) break
      await new Promise((r) => setTimeout(r, 20))
    }
    const tAnnounced = performance.now() - t0
    console.error(`announced ${announced} in ${Math.round(tAnnounced)} ms`)
    const afterRegister = (await store.getRunState(runId))?.version ?? 0
    const stats = await admin.info('commandstats')
    const calls = [...stats.matchAll(/cmdstat_(\w+):calls=(\d+)/g)].map((m) => [m[1], Number(m[2])] as const)
    const t1 = performance.now()
    if (argv.includes('--trace')) console.error('publish', Math.round(t1))
    const events = await store.read(runId, { limit: 100_000 })
    const triggers = events.filter((e) => e.kind === 'step.await.trigger').map((e) => (e.data as { triggerId: string }).triggerId)
    await Promise.all([
      ...range(n)
        .filter((i) => kinds[i % kinds.length] === 'event')
        .map((i) => runner.publishEvent({ kind: `k${i}`, data: { i } })),
      ...triggers.map((id) => runner.resolveTrigger(id, { ok: true })),
    ])
    const result = await runner.result(runId, { timeout: '600s' })
    const tResolved = performance.now() - t1
    const end = (await store.getRunState(runId))?.version ?? 0
    if (argv.includes('--trace')) {
      const log = await store.read(runId, { limit: 100_000 })
      const t = Date.parse(log[0]?.ts ?? '')
      let last = ''
      let prev = 0
      for (const e of log) {
        const line = `${Date.parse(e.ts) - t} ${e.kind}`
        if (e.kind !== last || Date.parse(e.ts) - prev > 50) console.error(line, (e.data as { position?: number }).position)
        prev = Date.parse(e.ts)
        last = e.kind
      }
    }
    const stats2 = await admin.info('commandstats')
    const calls2 = [...stats2.matchAll(/cmdstat_(\w+):calls=(\d+)/g)].map((m) => [m[1], Number(m[2])] as const)
    console.log(
      JSON.stringify({
        n,
        kinds,
        result,
        registerMs: Math.round(tAnnounced),
        docWritesWhileRegistering: afterRegister - before,
        resolveMs: Math.round(tResolved),
        docWritesTotal: end,
        redisCommandsWhileRegistering: Object.fromEntries(calls),
        redisCommandsTotal: Object.fromEntries(calls2),
      }),
    )
  } finally {
    await runner.stop()
    await store.close?.()
    admin.disconnect()
    await redis.stop()
  }
}
await main()
