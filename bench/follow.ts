// Follow benchmark: `pnpm exec tsx bench/follow.ts [--runs 100] [--rate 1000] [--seconds 3] [--backfill 10000] [--rounds 3]`
//
// Starts its own redis-server (or uses REDIS_URL) and measures, in the same run:
//   live delivery: 100 runs, ~1k events/s in all; latency from the append call to the
//     follow() consumer — against raw PUBLISH → subscriber (one publisher, one
//     subscriber connection on the same 100 channels, JSON.parse on receipt)
//   backfill of 10,000 events: store.follow() and paged store.read() — against raw
//     paged XRANGE (COUNT 1000) + JSON.parse of each entry
// Rounds are interleaved; each variant keeps its best round. Prints JSON with ratios.
import { createRedisStreamStore, type RedisStreamStore } from '@leanflow/redis'
import { Redis } from 'ioredis'
import { benchRedis, typicalEvent } from './lib/redisBench.js'
import { arg, bestOf, latency, now, round } from './lib/stats.js'

const RUNS = arg('runs', 100)
const RATE = arg('rate', 1000)
const SECONDS = arg('seconds', 3)
const BACKFILL = arg('backfill', 10_000)
const ROUNDS = arg('rounds', 3)
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

let seq = 0

/** Sends RATE events/s for SECONDS, round-robin over `runs`, calling `send(run, t0)`; paced by the clock, not by timers. */
async function paced(runs: string[], send: (run: string, t0: number) => void): Promise<number> {
  const total = RATE * SECONDS
  const start = now()
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / RATE
    const wait = due - now()
    if (wait > 1) await sleep(wait)
    send(runs[i % runs.length]!, now())
  }
  return total
}

async function liveStore(store: RedisStreamStore) {
  const tag = `ls${++seq}`
  const runs = Array.from({ length: RUNS }, (_, i) => `${tag}r${i}`)
  const lat: number[] = []
  const stops = runs.map(() => new AbortController())
  const followers = runs.map(async (r, i) => {
    for await (const e of store.follow(r, { signal: stops[i]!.signal })) lat.push(now() - (e.data as { t0: number }).t0)
  })
  await sleep(200) // subscriptions in place
  const sent = await paced(runs, (r, t0) => {
    const e = typicalEvent(r, 0)
    void store.append(r, { ...e, data: { ...e.data, t0 } })
  })
  while (lat.length < sent) await sleep(5)
  for (const s of stops) s.abort()
  await Promise.all(followers)
  const l = latency(lat)
  return { score: -l.p50, ...l }
}

async function liveRaw(url: string) {
  const tag = `lr${++seq}`
  const pub = new Redis(url)
  const sub = new Redis(url)
  const channels = Array.from({ length: RUNS }, (_, i) => `${tag}:{r${i}}:live`)
  const lat: number[] = []
  sub.on('message', (_c: string, msg: string) => {
    const body = JSON.parse(msg.slice(msg.indexOf(' ') + 1)) as { data: { t0: number } }
    lat.push(now() - body.data.t0)
  })
  await sub.subscribe(...channels)
  const sent = await paced(channels, (ch, t0) => {
    const e = typicalEvent(ch, 0)
    void pub.publish(ch, `1-0 ${JSON.stringify({ ...e, data: { ...e.data, t0 } })}`)
  })
  while (lat.length < sent) await sleep(5)
  pub.disconnect()
  sub.disconnect()
  const l = latency(lat)
  return { score: -l.p50, ...l }
}

let cleanup: (() => Promise<void>) | undefined

async function main() {
  const redis = await benchRedis()
  cleanup = () => redis.stop()
  const store = createRedisStreamStore({ url: redis.url, prefix: 'bf' })
  const raw = new Redis(redis.url)

  const live = await bestOf(ROUNDS, { rawPublish: () => liveRaw(redis.url), store: () => liveStore(store) })

  // backfill: one run of BACKFILL typical events
  const run = 'backfill'
  for (let i = 0; i < BACKFILL; i += 500)
    await Promise.all(Array.from({ length: 500 }, (_, k) => store.append(run, typicalEvent(run, i + k))))
  const key = store.keys.events(run)
  // wall time, and this process's CPU time (steadier than wall time on a shared machine)
  const timed = async (f: () => Promise<number>) => {
    const c0 = process.cpuUsage()
    const t0 = now()
    const n = await f()
    if (n !== BACKFILL) throw new Error(`backfill read ${n} events, expected ${BACKFILL}`)
    const ms = now() - t0
    const c = process.cpuUsage(c0)
    return { score: -ms, ms: round(ms), cpuMs: round((c.user + c.system) / 1000), eventsPerSec: Math.round(BACKFILL / (ms / 1000)) }
  }
  const backfill = await bestOf(ROUNDS + 2, {
    rawXrangeParse: () =>
      timed(async () => {
        let n = 0
        let from = '-'
        for (;;) {
          const page = (await raw.xrange(key, from, '+', 'COUNT', 1000)) as Array<[string, string[]]>
          for (const [, fields] of page) if (JSON.parse(fields[1]!)) n++
          if (page.length < 1000) return n
          from = `(${page[page.length - 1]![0]}`
        }
      }),
    storeFollow: () =>
      timed(async () => {
        let n = 0
        for await (const _ of store.follow(run)) if (++n === BACKFILL) break
        return n
      }),
    storeRead: () =>
      timed(async () => {
        let n = 0
        let after: string | undefined
        for (;;) {
          const page = await store.read(run, { after, limit: 1000 })
          n += page.length
          if (page.length < 1000) return n
          after = page[page.length - 1]!.id
        }
      }),
  })

  const out = {
    settings: { runs: RUNS, rate: RATE, seconds: SECONDS, backfill: BACKFILL, rounds: ROUNDS },
    liveMs: { rawPublish: live.rawPublish, store: live.store },
    backfill,
    ratios: {
      liveP50StoreVsRawPublish: round(live.store!.p50 / live.rawPublish!.p50),
      liveP99StoreMs: live.store!.p99,
      backfillFollowVsRaw: round(backfill.storeFollow!.ms / backfill.rawXrangeParse!.ms),
      backfillReadVsRaw: round(backfill.storeRead!.ms / backfill.rawXrangeParse!.ms),
      backfillFollowCpuVsRaw: round(backfill.storeFollow!.cpuMs / backfill.rawXrangeParse!.cpuMs),
      backfillReadCpuVsRaw: round(backfill.storeRead!.cpuMs / backfill.rawXrangeParse!.cpuMs),
    },
    targets: { liveP50StoreVsRawPublish: '<= 1.5', liveP99StoreMs: '<= 2', backfillFollowVsRaw: '<= 1.3' },
  }
  console.log(JSON.stringify(out, null, 2))
  await store.close()
  raw.disconnect()
}

try {
  await main()
} finally {
  await cleanup?.()
}
