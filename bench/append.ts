// Append benchmark: `pnpm exec tsx bench/append.ts [--events 5000] [--runs 100] [--per-run 100] [--rounds 3]`
//
// Starts its own redis-server (or uses REDIS_URL) and measures, in the same run:
//   ping:        awaited PING round trips (latency floor)
//   naive:       the reference document's loop: await XADD, then await PUBLISH, per event
//   rawScript:   bare EVALSHA of an XADD+PUBLISH script (baseline b), with and without enableAutoPipelining
//   store:       createRedisStreamStore().append (idempotency check, XADD, PUBLISH, summary, limits)
//   redis-benchmark -P 64 XADD of the same event (baseline c, Redis's own ceiling)
// for one run with awaited appends, and for 100 runs appending concurrently on one
// connection; then the memory of a typical 10-event run. Prints JSON with figures and ratios.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { createRedisStreamStore } from '@leanflow/redis'
import { Redis } from 'ioredis'
import { benchRedis, redisCpuSeconds, typicalEvent } from './lib/redisBench.js'
import { arg, bestOf, latency, now, round } from './lib/stats.js'

const EVENTS = arg('events', 5000)
const RUNS = arg('runs', 100)
const PER_RUN = arg('per-run', 100)
const ROUNDS = arg('rounds', 3)
const RAW_LUA = `local id = redis.call('XADD', KEYS[1], '*', 'e', ARGV[1])
redis.call('PUBLISH', ARGV[2], id .. ' ' .. ARGV[1])
return id`

type Appender = (runId: string, i: number) => Promise<unknown>
interface Result {
  score: number
  eventsPerSec: number
  p50?: number
  p99?: number
}

let seq = 0
const runName = (tag: string) => `${tag}${++seq}x${Date.now().toString(36)}`

/** One run, awaited appends: events/s and per-append latency. */
async function oneRun(tag: string, append: Appender): Promise<Result> {
  const run = runName(tag)
  const lat: number[] = []
  const t0 = now()
  for (let i = 0; i < EVENTS; i++) {
    const s = now()
    await append(run, i)
    lat.push(now() - s)
  }
  const eventsPerSec = EVENTS / ((now() - t0) / 1000)
  const l = latency(lat)
  return { score: eventsPerSec, eventsPerSec: Math.round(eventsPerSec), p50: l.p50, p99: l.p99 }
}

let admin: Redis
const redisCpu = () => redisCpuSeconds(admin)

/**
 * RUNS runs appending concurrently (each run's appends awaited in order), one connection.
 * Also reports CPU µs per event in this process and in redis-server: on a shared machine
 * they vary far less than events/s.
 */
async function manyRuns(tag: string, append: Appender): Promise<Result & { nodeCpuUs: number; redisCpuUs: number }> {
  const runs = Array.from({ length: RUNS }, () => runName(tag))
  const r0 = await redisCpu()
  const c0 = process.cpuUsage()
  const t0 = now()
  await Promise.all(
    runs.map(async (r) => {
      for (let i = 0; i < PER_RUN; i++) await append(r, i)
    }),
  )
  const ms = now() - t0
  const c = process.cpuUsage(c0)
  const r1 = await redisCpu()
  const n = RUNS * PER_RUN
  const eventsPerSec = n / (ms / 1000)
  return {
    score: eventsPerSec,
    eventsPerSec: Math.round(eventsPerSec),
    nodeCpuUs: round((c.user + c.system) / n, 1),
    redisCpuUs: round(((r1 - r0) * 1e6) / n, 1),
  }
}

let cleanup: (() => Promise<void>) | undefined

async function main() {
  const redis = await benchRedis()
  cleanup = () => redis.stop()
  const naiveConn = new Redis(redis.url)
  admin = new Redis(redis.url)
  const rawConn = new Redis(redis.url)
  const rawAuto = new Redis(redis.url, { enableAutoPipelining: true })
  const storeAutoConn = new Redis(redis.url, { enableAutoPipelining: true })
  const store = createRedisStreamStore({ url: redis.url, prefix: 'bs' })
  const storeAuto = createRedisStreamStore({ redis: storeAutoConn, prefix: 'bsa' })
  const json = (run: string, i: number) => JSON.stringify(typicalEvent(run, i))
  const sha = (await rawConn.script('LOAD', RAW_LUA)) as string

  const variants: Record<string, Appender> = {
    naive: async (run, i) => {
      const e = typicalEvent(run, i)
      const id = await naiveConn.xadd(`naive:${run}`, '*', 'e', JSON.stringify(e))
      await naiveConn.publish(`naive:${run}:live`, JSON.stringify({ id, ts: new Date().toISOString(), ...e }))
    },
    rawScript: (run, i) => rawConn.evalsha(sha, 1, `raw:{${run}}`, json(run, i), `raw:{${run}}:live`),
    rawScriptAutoPipelining: (run, i) => rawAuto.evalsha(sha, 1, `rawa:{${run}}`, json(run, i), `rawa:{${run}}:live`),
    store: (run, i) => store.append(run, typicalEvent(run, i)),
    storeIdempotent: (run, i) => store.append(run, typicalEvent(run, i), { idempotencyKey: `k${i}` }),
    storeAutoPipelining: (run, i) => storeAuto.append(run, typicalEvent(run, i)),
  }
  // warm up every path (script load, JIT)
  for (const f of Object.values(variants)) for (let i = 0; i < 200; i++) await f('warm', i)

  const pingLat: number[] = []
  for (let i = 0; i < EVENTS; i++) {
    const s = now()
    await rawConn.ping()
    pingLat.push(now() - s)
  }
  const ping = latency(pingLat)

  const single = await bestOf(ROUNDS, Object.fromEntries(Object.entries(variants).map(([k, f]) => [k, () => oneRun(`s${k}`, f)])))
  const concurrent = await bestOf(ROUNDS, Object.fromEntries(Object.entries(variants).map(([k, f]) => [k, () => manyRuns(`c${k}`, f)])))

  const sample = json('Xy1aB2cD3eF4gH5iJ6kL7', 1).replace(/"/g, '\\"')
  const { stdout } = await promisify(execFile)('redis-benchmark', [
    '-h',
    redis.host,
    '-p',
    String(redis.port),
    '-n',
    '200000',
    '-P',
    '64',
    '-q',
    'XADD',
    'rb:{bench}',
    '*',
    'e',
    sample,
  ])
  const redisBenchmarkXadd = Number(/([\d.]+) requests per second/.exec(stdout)?.[1] ?? Number.NaN)

  const memory = await measureMemory(redis.url)

  const out = {
    machine: {
      cpus: (await import('node:os')).cpus().length,
      node: process.version,
      redis: (await rawConn.info('server')).match(/redis_version:(\S+)/)?.[1],
    },
    settings: {
      events: EVENTS,
      runs: RUNS,
      perRun: PER_RUN,
      rounds: ROUNDS,
      eventBytes: Buffer.byteLength(json('Xy1aB2cD3eF4gH5iJ6kL7', 1)),
    },
    pingMs: ping,
    oneRun: single,
    concurrent,
    redisBenchmarkXaddP64: Math.round(redisBenchmarkXadd),
    memory,
    ratios: {
      oneRunStoreVsNaive: round(single.store!.eventsPerSec / single.naive!.eventsPerSec),
      oneRunStoreP50VsPing: round(single.store!.p50! / ping.p50),
      concurrentStoreVsNaiveLoop: round(concurrent.store!.eventsPerSec / single.naive!.eventsPerSec),
      concurrentStoreVsNaiveConcurrent: round(concurrent.store!.eventsPerSec / concurrent.naive!.eventsPerSec),
      concurrentStoreVsRawScript: round(concurrent.store!.eventsPerSec / concurrent.rawScript!.eventsPerSec),
      concurrentStoreVsBestRawScript: round(
        concurrent.store!.eventsPerSec / Math.max(concurrent.rawScript!.eventsPerSec, concurrent.rawScriptAutoPipelining!.eventsPerSec),
      ),
      concurrentStoreVsRedisBenchmarkXadd: round(concurrent.store!.eventsPerSec / redisBenchmarkXadd),
      memoryVsRawStream: memory.ratioToRawStream,
    },
    targets: {
      oneRunStoreVsNaive: '>= 1.5',
      oneRunStoreP50VsPing: '<= 1.5',
      concurrentStoreVsNaiveLoop: '>= 10',
      concurrentStoreVsRawScript: '>= 0.8',
      memoryVsRawStream: '<= 1.25',
    },
  }
  console.log(JSON.stringify(out, null, 2))
  await store.close()
  await storeAuto.close()
  for (const c of [naiveConn, rawConn, rawAuto, storeAutoConn, admin]) c.disconnect()
}

/** MEMORY USAGE (SAMPLES 0: exact) of typical 10-event runs: the store's keys vs the same events in a bare stream. */
async function measureMemory(url: string) {
  const r = new Redis(url)
  const store = createRedisStreamStore({ redis: r, prefix: 'mem' })
  const RUNS_M = 200
  const usage = async (key: string) => Number((await r.memory('USAGE', key, 'SAMPLES', 0)) ?? 0)
  let storeBytes = 0
  let storeIdemBytes = 0
  let rawBytes = 0
  let referenceBytes = 0
  for (let k = 0; k < RUNS_M; k++) {
    for (const [variant, idem] of [
      ['m', false],
      ['i', true],
    ] as const) {
      const run = `${variant}run${k}`
      const events = [
        {
          kind: 'flow.started',
          flow: run,
          data: { name: 'checkout', input: { cart: 'c_81723', total: 1299 }, steps: { charge: { needs: [] } } },
        },
        ...Array.from({ length: 8 }, (_, i) => typicalEvent(run, i)),
        { kind: 'flow.completed', flow: run, data: { result: { ok: true }, duration: 812 } },
      ]
      for (const [i, e] of events.entries()) await store.append(run, e, idem ? { idempotencyKey: `${run}:${i}` } : undefined)
      let bytes = 0
      for (const key of store.keys.runKeys(run)) bytes += await usage(key)
      if (idem) storeIdemBytes += bytes
      else {
        storeBytes += bytes
        for (const e of events) await r.xadd(`rawmem:${run}`, '*', 'e', JSON.stringify(e))
        rawBytes += await usage(`rawmem:${run}`)
        // the reference document's layout: six fields per entry, ts as a field
        for (const e of events) {
          const x = e as { kind: string; flow: string; step?: string; data: unknown; meta?: unknown }
          const fields = [
            'kind',
            x.kind,
            'flow',
            x.flow,
            'step',
            x.step ?? '',
            'data',
            JSON.stringify(x.data),
            'meta',
            JSON.stringify(x.meta ?? {}),
            'ts',
            new Date().toISOString(),
          ]
          await r.xadd(`refmem:${run}`, '*', ...fields)
        }
        referenceBytes += await usage(`refmem:${run}`)
      }
    }
  }
  const indexBytes = (await usage(store.keys.flowRuns('checkout'))) + (await usage(store.keys.flowDone('checkout')))
  await store.close()
  r.disconnect()
  const perRun = storeBytes / RUNS_M
  return {
    runs: RUNS_M,
    eventsPerRun: 10,
    bytesPerRun: Math.round(perRun),
    bytesPerRunWithIdempotencyKeys: Math.round(storeIdemBytes / RUNS_M),
    indexBytesPerRun: Math.round(indexBytes / (2 * RUNS_M)),
    rawStreamBytesPerRun: Math.round(rawBytes / RUNS_M),
    referenceLayoutBytesPerRun: Math.round(referenceBytes / RUNS_M),
    ratioToRawStream: round(perRun / (rawBytes / RUNS_M)),
  }
}

try {
  await main()
} finally {
  await cleanup?.()
}
