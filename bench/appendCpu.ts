// The append's CPU cost, for comparing two trees: `pnpm build && TSX_TSCONFIG_PATH=bench/tsconfig.json
//   node --import tsx bench/appendCpu.ts [--appends 30000] [--concurrency 200] [--rounds 1]`
//
// Starts its own redis-server (or uses REDIS_URL) and appends `appends` typical events
// (bench/lib/redisBench.ts's step.completed) through createRedisStreamStore().append,
// `concurrency` runs at once, after a warm-up; per append: Node CPU µs (process.cpuUsage) and
// Redis CPU µs (INFO cpu), and appends/s. CPU time moves less than wall time on a shared
// machine, so run it on two trees alternately (each tree built, `node --import tsx` from its
// root) and compare the medians: that is how a change to the append's arguments was measured.
// Prints one JSON line per round.
import { createRedisStreamStore } from '@leanflow/redis'
import { Redis } from 'ioredis'
import { benchRedis, redisCpuSeconds, typicalEvent } from './lib/redisBench.js'
import { arg, round } from './lib/stats.js'

const APPENDS = arg('appends', 30_000)
const CONCURRENCY = arg('concurrency', 200)
const ROUNDS = arg('rounds', 1)

const server = process.env.REDIS_URL ? undefined : await benchRedis()
const url = process.env.REDIS_URL ?? (server as { url: string }).url
const store = createRedisStreamStore({ url, prefix: `cpu${Date.now().toString(36)}` })
const redis = new Redis(url)

/** `perRun` appends to each of `CONCURRENCY` runs named `<tag><n>`, the runs at once. */
async function appendAll(tag: string, perRun: number): Promise<void> {
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, w) => {
      for (let i = 0; i < perRun; i++) await store.append(`${tag}${w}`, typicalEvent(`${tag}${w}`, i))
    }),
  )
}

try {
  await appendAll('warm', 50)
  for (let round_ = 0; round_ < ROUNDS; round_++) {
    const redisBefore = await redisCpuSeconds(redis)
    const cpuBefore = process.cpuUsage()
    const t0 = performance.now()
    await appendAll(`r${round_}-`, Math.ceil(APPENDS / CONCURRENCY))
    const seconds = (performance.now() - t0) / 1000
    const cpu = process.cpuUsage(cpuBefore)
    const redisSeconds = (await redisCpuSeconds(redis)) - redisBefore
    const n = Math.ceil(APPENDS / CONCURRENCY) * CONCURRENCY
    console.log(
      JSON.stringify({
        appends: n,
        nodeCpuUsPerAppend: round((cpu.user + cpu.system) / n),
        redisCpuUsPerAppend: round((redisSeconds * 1e6) / n),
        appendsPerSec: Math.round(n / seconds),
      }),
    )
  }
} finally {
  await store.close()
  redis.disconnect()
  await server?.stop()
}
