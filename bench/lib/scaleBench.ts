/**
 * The parts of bench/scale.ts: retained runs (listRuns pages and memory per run), many runs
 * resuming from `await.time` in one second, many runs resuming on one published event — each
 * with its baseline measured on the same redis-server in the same run.
 */

import { createBullMQQueue } from '@leanflow/bullmq'
import type { EventRecord, NewEvent, StreamStore } from '@leanflow/core'
import { createRedisStreamStore } from '@leanflow/redis'
import { createRunner, defineFlow } from '@leanflow/runner'
import { Queue, Worker } from 'bullmq'
import { Redis } from 'ioredis'
import { redisCpuSeconds, typicalEvent } from './redisBench.js'
import { latency, now, pool, round } from './stats.js'

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

/** Redis's used_memory, bytes. */
async function usedMemory(r: Redis): Promise<number> {
  return Number((await r.info('memory')).match(/used_memory:(\d+)/)?.[1] ?? 0)
}

/** A retained run's events: started, 8 typical step events, completed (10% stay running). */
function runEvents(runId: string, i: number): NewEvent[] {
  const events: NewEvent[] = [
    { kind: 'flow.started', flow: runId, data: { name: 'scaled', input: { i }, steps: { charge: { needs: [] } } } },
    ...Array.from({ length: 8 }, (_, k) => typicalEvent(runId, k) as NewEvent),
  ]
  if (i % 10 !== 0) events.push({ kind: 'flow.completed', flow: runId, data: { result: { ok: true }, duration: 812 } })
  return events
}

type Page = 'firstPage' | 'deepPage' | 'runningPage' | 'deepRunning'

/**
 * `runs` retained runs of one flow (9 or 10 events each, 90% completed), written to the server:
 * the `listRuns` pages to time (first page, a deep page with `before` near the oldest tenth, the
 * `running` status page of the 10% still running, and that status page deep), and Redis memory
 * per retained run (used_memory delta, index included) against the same events XADDed to bare
 * streams (one field holding the event's JSON) for `rawRuns` runs. Time the pages of two such
 * sets with {@link comparePages}; `close()` when done.
 */
export async function retainedRuns(url: string, runs: number, opts: { rawRuns?: number } = {}) {
  const rawRuns = Math.min(opts.rawRuns ?? 10_000, runs)
  const admin = new Redis(url)
  const store = createRedisStreamStore({ url, prefix: `scale${runs}` })
  const before = await usedMemory(admin)
  const started: number[] = new Array(runs)
  const t0 = now()
  await pool(runs, 256, async (i) => {
    const runId = `r${runs}-${i}`
    const events = runEvents(runId, i)
    const first = await store.append(runId, events[0]!)
    started[i] = Date.parse(first.ts)
    for (const e of events.slice(1)) await store.append(runId, e)
  })
  const fillSeconds = (now() - t0) / 1000
  const storeBytes = (await usedMemory(admin)) - before
  const rawBefore = await usedMemory(admin)
  const pipe = admin.pipeline()
  for (let i = 0; i < rawRuns; i++) for (const e of runEvents(`raw${i}`, i)) pipe.xadd(`raw:${i}`, '*', 'e', JSON.stringify(e))
  await pipe.exec()
  const rawBytes = (await usedMemory(admin)) - rawBefore
  await admin.del(...Array.from({ length: rawRuns }, (_, i) => `raw:${i}`))
  admin.disconnect()
  const sorted = [...started].sort((a, b) => a - b)
  const deepBefore = sorted[Math.floor(runs / 10)]! // only the oldest tenth lies before it
  const check = await store.listRuns('scaled', { limit: 50, before: deepBefore })
  if (check.length === 0 || check.some((s) => Date.parse(s.startedAt) >= deepBefore)) throw new Error('bench: the deep page is wrong')
  const pages: Record<Page, () => Promise<unknown>> = {
    firstPage: () => store.listRuns('scaled', { limit: 50 }),
    deepPage: () => store.listRuns('scaled', { limit: 50, before: deepBefore }),
    runningPage: () => store.listRuns('scaled', { limit: 50, status: 'running' }),
    deepRunning: () => store.listRuns('scaled', { limit: 50, status: 'running', before: deepBefore }),
  }
  return {
    runs,
    fillSeconds: round(fillSeconds, 1),
    memory: {
      bytesPerRun: Math.round(storeBytes / runs),
      rawStreamBytesPerRun: Math.round(rawBytes / rawRuns),
      ratio: round(storeBytes / runs / (rawBytes / rawRuns), 2),
    },
    pages,
    close: () => store.close(),
  }
}

/**
 * p50/p99 of each `listRuns` page of two retained sets, `calls` sequential calls per page and
 * set, timed in alternating chunks of `chunk` (a, b, b, a, …) so both see the same moments of a
 * shared machine; with 2,000 calls a p99 is the 20th slowest, not the 3rd of 300.
 */
export async function comparePages(
  a: { pages: Record<Page, () => Promise<unknown>> },
  b: { pages: Record<Page, () => Promise<unknown>> },
  opts: { calls?: number; chunk?: number } = {},
) {
  const calls = opts.calls ?? 2_000
  const chunk = opts.chunk ?? 100
  const out = { a: {} as Record<Page, ReturnType<typeof latency>>, b: {} as Record<Page, ReturnType<typeof latency>> }
  for (const page of Object.keys(a.pages) as Page[]) {
    const ms = { a: [] as number[], b: [] as number[] }
    for (let w = 0; w < 20; w++) await Promise.all([a.pages[page](), b.pages[page]()]) // warm-up
    for (let c = 0; c < calls / chunk; c++) {
      const order = c % 2 === 0 ? (['a', 'b'] as const) : (['b', 'a'] as const)
      for (const side of order) {
        const fn = (side === 'a' ? a : b).pages[page]
        for (let i = 0; i < chunk; i++) {
          const t = now()
          await fn()
          ms[side].push(now() - t)
        }
      }
    }
    out.a[page] = latency(ms.a)
    out.b[page] = latency(ms.b)
  }
  return out
}

/** Polls `count()` until it reaches `n`. */
async function until(count: () => Promise<number> | number, n: number, what: string, timeoutMs = 600_000) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const c = await count()
    if (c >= n) return
    if (Date.now() > deadline) throw new Error(`bench: ${what} stuck at ${c}/${n}`)
    await sleep(50)
  }
}

async function logs(store: StreamStore, runIds: string[]): Promise<EventRecord[][]> {
  const out: EventRecord[][] = new Array(runIds.length)
  await pool(runIds.length, 128, async (i) => {
    out[i] = await store.read(runIds[i]!, { limit: 1000 })
  })
  return out
}

const napFlow = defineFlow<{ at: number }>({
  name: 'nap',
  steps: {
    nap: {
      handler: async (input, ctx) => {
        await ctx.await.time(new Date(input.at))
        return null
      },
    },
  },
})
const waitFlow = defineFlow({
  name: 'wait',
  steps: {
    wait: {
      handler: async (_input, ctx) => {
        await ctx.await.event({ kind: 'bench.go' })
        return null
      },
    },
  },
})

/** A runner on BullMQ and the Redis store, in this process, with `concurrency` job slots. */
async function benchRunner(url: string, prefix: string, concurrency: number) {
  const store = createRedisStreamStore({ url, prefix })
  const queue = createBullMQQueue({ url, queueName: `${prefix}-q` })
  const runner = createRunner({ store, queue, flows: [napFlow, waitFlow], concurrency })
  await runner.start()
  return {
    store,
    runner,
    async close() {
      await runner.stop()
      await queue.close()
      await store.close()
    },
  }
}

/**
 * `runs` runs each awaiting `await.time` until a moment inside one second, `leadMs` after the
 * first start (all must be suspended by then); lateness = `step.resumed` ts − `resumeAt`, and
 * Redis CPU from the first due moment to the last resume. Baseline: as many BullMQ jobs added
 * (addBulk) with delays due in the same kind of second, lateness = handler start − due.
 */
export async function manyTimers(url: string, runs: number, opts: { leadMs?: number; concurrency?: number } = {}) {
  const leadMs = opts.leadMs ?? 30_000
  const concurrency = opts.concurrency ?? 200
  const admin = new Redis(url)
  const lf = await benchRunner(url, 'timers', concurrency)
  let leanflow: { latenessMs: ReturnType<typeof latency>; redisCpuMs: number; early: number; setupSeconds: number }
  try {
    const due = Date.now() + leadMs
    const t0 = now()
    const runIds: string[] = []
    await pool(runs, 200, async (i) => {
      runIds.push((await lf.runner.startFlow('nap', { at: due + (i % 1000) })).runId)
    })
    await until(async () => (await lf.store.listRuns('nap', { status: 'awaiting', limit: runs })).length, runs, 'runs awaiting', leadMs)
    const setupSeconds = (now() - t0) / 1000
    if (Date.now() >= due) throw new Error(`bench: ${runs} runs took over --lead ${leadMs} ms to suspend; raise it`)
    await sleep(due - Date.now() - 50)
    const cpu0 = await redisCpuSeconds(admin)
    await until(async () => (await lf.store.listRuns('nap', { status: 'completed', limit: runs })).length, runs, 'runs resumed')
    const cpu1 = await redisCpuSeconds(admin)
    const all = await logs(lf.store, runIds)
    const lateness = all.map((l) => {
      const awaited = l.find((e) => e.kind === 'step.await.time')
      const resumed = l.find((e) => e.kind === 'step.resumed')
      const resumeAt = (awaited?.data as { resumeAt?: string } | undefined)?.resumeAt ?? ''
      return Date.parse(resumed?.ts ?? '') - Date.parse(resumeAt)
    })
    leanflow = {
      latenessMs: latency(lateness),
      early: lateness.filter((x) => x < 0).length,
      redisCpuMs: round((cpu1 - cpu0) * 1000, 0),
      setupSeconds: round(setupSeconds, 1),
    }
  } finally {
    await lf.close()
  }
  // the baseline: BullMQ delayed jobs, due in one second, one worker of the same concurrency
  const name = 'delayed'
  const queue = new Queue(name, { connection: { url } })
  const lateness: number[] = []
  const worker = new Worker(
    name,
    async (job) => {
      lateness.push(Date.now() - (job.data as { due: number }).due)
    },
    { connection: { url }, concurrency },
  )
  try {
    await Promise.all([queue.waitUntilReady(), worker.waitUntilReady()])
    const base = Date.now()
    const dueAt = base + 5_000
    for (let i = 0; i < runs; i += 1000) {
      const chunk = Array.from({ length: Math.min(1000, runs - i) }, (_, k) => {
        const d = dueAt + ((i + k) % 1000)
        return { name: 'd', data: { due: d }, opts: { delay: d - base, removeOnComplete: true } }
      })
      await queue.addBulk(chunk)
    }
    await sleep(dueAt - Date.now() - 50)
    const cpu0 = await redisCpuSeconds(admin)
    await until(() => lateness.length, runs, 'delayed jobs')
    const cpu1 = await redisCpuSeconds(admin)
    const bullmq = {
      latenessMs: latency(lateness),
      early: lateness.filter((x) => x < 0).length,
      redisCpuMs: round((cpu1 - cpu0) * 1000, 0),
    }
    return {
      runs,
      concurrency,
      leanflow,
      bullmq,
      ratios: {
        p99VsBullmq: round(leanflow.latenessMs.p99 / Math.max(1, bullmq.latenessMs.p99), 2),
        redisCpuVsBullmq: round(leanflow.redisCpuMs / Math.max(1, bullmq.redisCpuMs), 2),
      },
    }
  } finally {
    await worker.close()
    await queue.obliterate({ force: true }).catch(() => {})
    await queue.close()
    admin.disconnect()
  }
}

/**
 * `runs` runs awaiting the same event kind; one `publishEvent`; time from the publish to the
 * last `step.resumed`. Baseline: `runs` BullMQ jobs added in one addBulk, time to the last
 * handler start.
 */
export async function manyWaiters(url: string, runs: number, opts: { concurrency?: number } = {}) {
  const concurrency = opts.concurrency ?? 200
  const admin = new Redis(url)
  const lf = await benchRunner(url, 'waiters', concurrency)
  let leanflowMs: number
  try {
    const runIds: string[] = []
    await pool(runs, 200, async () => {
      runIds.push((await lf.runner.startFlow('wait', {})).runId)
    })
    await until(async () => (await lf.store.listRuns('wait', { status: 'awaiting', limit: runs })).length, runs, 'runs awaiting')
    await sleep(200)
    const published = Date.now()
    await lf.runner.publishEvent({ kind: 'bench.go', data: {} })
    await until(async () => (await lf.store.listRuns('wait', { status: 'completed', limit: runs })).length, runs, 'runs resumed')
    const all = await logs(lf.store, runIds)
    const resumed = all.map((l) => Date.parse(l.find((e) => e.kind === 'step.resumed')?.ts ?? ''))
    leanflowMs = Math.max(...resumed) - published
  } finally {
    await lf.close()
  }
  const name = 'bulk'
  const queue = new Queue(name, { connection: { url } })
  let done = 0
  let last = 0
  const worker = new Worker(
    name,
    async () => {
      last = Date.now()
      done++
    },
    { connection: { url }, concurrency },
  )
  try {
    await Promise.all([queue.waitUntilReady(), worker.waitUntilReady()])
    const added = Date.now()
    await queue.addBulk(Array.from({ length: runs }, () => ({ name: 'j', data: {}, opts: { removeOnComplete: true } })))
    await until(() => done, runs, 'bulk jobs')
    const bullmqMs = last - added
    return { runs, concurrency, leanflowMs, bullmqMs, ratio: round(leanflowMs / Math.max(1, bullmqMs), 2) }
  } finally {
    await worker.close()
    await queue.obliterate({ force: true }).catch(() => {})
    await queue.close()
    admin.disconnect()
  }
}
