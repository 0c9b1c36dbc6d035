/**
 * Measurements of schedules for bench/schedules.ts, on a given Redis:
 *
 * - `leanflowTickLateness`: a runner (createRunner + memory queue) on createRedisStreamStore with
 *   one `every: '1s'` schedule; lateness = `flow.started` ts − its `data.schedule.tick` (both on the
 *   store's clock, Redis TIME), ms, for `ticks` ticks.
 * - `bullmqSchedulerLateness`: raw BullMQ, `queue.upsertJobScheduler(id, { every: 1000 })`;
 *   lateness = handler start (Date.now()) − the time the iteration was due. BullMQ reports that
 *   time as `job.opts.prevMillis` (the scheduler's `nextMillis` when it created the job; also the
 *   tail of the job id `repeat:<id>:<nextMillis>`); `job.timestamp` is when the job was created
 *   (the previous iteration's processing), not when it was due.
 * - `dueCheckCost`: `schedules` stored schedules (plus `dueEverySecond` due each second), one
 *   runner started; Redis commands per second (INFO commandstats deltas, all commands, scripts'
 *   inner calls included), their Redis time (usec) per second, and the Node CPU of this process
 *   (the runner's only work) per second, over `seconds`.
 *
 * @example
 * ```ts
 * const late = await leanflowTickLateness({ url, ticks: 20 })
 * const cost = await dueCheckCost({ url, schedules: 10_000, seconds: 5 })
 * ```
 */
import { createRedisStreamStore } from '@leanflow/redis'
import { createRunner, defineFlow } from '@leanflow/runner'
import { Queue, Worker } from 'bullmq'
import { Redis } from 'ioredis'

let seq = 0
const unique = (what: string) => `bench-${what}-${process.pid}-${++seq}`
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

const noopFlow = (name: string) => defineFlow({ name, steps: { s: { handler: async () => null } } })

/** Lateness of `ticks` ticks of an every-second schedule fired by one runner, ms. */
export async function leanflowTickLateness(opts: { url: string; ticks: number }): Promise<number[]> {
  const prefix = unique('sch')
  const store = createRedisStreamStore({ url: opts.url, prefix })
  const runner = createRunner({ store, flows: [noopFlow('tick')] })
  try {
    await runner.schedules.set({ id: 'each-second', flow: 'tick', every: '1s' })
    await runner.start()
    // the first tick may be one already late at start: skip it
    await sleep((opts.ticks + 1.5) * 1000)
    await runner.schedules.pause('each-second')
    const runs = await store.listRuns('tick', { limit: opts.ticks + 10 })
    const late: number[] = []
    for (const r of runs) {
      const [first] = await store.read(r.runId, { limit: 1 })
      const tick = (first?.data as { schedule?: { tick: string } } | undefined)?.schedule?.tick
      if (first && tick) late.push(Date.parse(first.ts) - Date.parse(tick))
    }
    // oldest first; drop the first tick (the runner's start)
    return late.reverse().slice(1, opts.ticks + 1)
  } finally {
    await runner.stop()
    await store.close()
  }
}

/** Lateness of `ticks` iterations of a BullMQ job scheduler with `every: 1000`, ms. */
export async function bullmqSchedulerLateness(opts: { url: string; ticks: number }): Promise<number[]> {
  const name = unique('sched')
  const connection = { url: opts.url }
  const queue = new Queue(name, { connection, prefix: 'bench' })
  const late: number[] = []
  const worker = new Worker(
    name,
    async (job) => {
      const due = (job.opts as { prevMillis?: number }).prevMillis ?? Number(String(job.id).split(':').at(-1))
      late.push(Date.now() - due)
    },
    { connection, prefix: 'bench', concurrency: 1 },
  )
  worker.on('error', (err) => console.error(`[bench bullmq scheduler] ${err.message}`))
  try {
    await Promise.all([queue.waitUntilReady(), worker.waitUntilReady()])
    await queue.upsertJobScheduler('each-second', { every: 1000 }, { name: 'tick', opts: { removeOnComplete: true } })
    const deadline = Date.now() + (opts.ticks + 10) * 1000
    while (late.length < opts.ticks + 1 && Date.now() < deadline) await sleep(20)
    // drop the first iteration (BullMQ runs an every-scheduler's first job at once)
    return late.slice(1, opts.ticks + 1)
  } finally {
    await queue.removeJobScheduler('each-second')
    await worker.close()
    await queue.obliterate({ force: true }).catch(() => {})
    await queue.close()
  }
}

/** INFO commandstats as { command: { calls, usec } }. */
async function commandStats(admin: Redis): Promise<Map<string, { calls: number; usec: number }>> {
  const text = await admin.info('commandstats')
  const out = new Map<string, { calls: number; usec: number }>()
  for (const m of text.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
    out.set(m[1] as string, { calls: Number(m[2]), usec: Number(m[3]) })
  }
  return out
}

/** What {@link dueCheckCost} measures. */
export interface DueCheckCost {
  schedules: number
  dueEverySecond: number
  seconds: number
  /** Redis commands per second (scripts' inner calls included), and by command. */
  commandsPerSec: number
  byCommand: Record<string, number>
  /** Redis time in those commands, µs per second. */
  redisUsecPerSec: number
  /** Node CPU (user + system) of this process, ms per second. */
  nodeCpuMsPerSec: number
}

/**
 * The due check's cost with `schedules` stored schedules due far in the future (yearly, on
 * 1 January) and `dueEverySecond` every-second ones, one runner started (nothing else on the server).
 */
export async function dueCheckCost(opts: {
  url: string
  schedules: number
  dueEverySecond?: number
  seconds?: number
}): Promise<DueCheckCost> {
  const seconds = opts.seconds ?? 5
  const due = opts.dueEverySecond ?? 0
  const prefix = unique('cost')
  const store = createRedisStreamStore({ url: opts.url, prefix })
  const runner = createRunner({ store, flows: [noopFlow('far'), noopFlow('tick')] })
  const admin = new Redis(opts.url)
  try {
    const ids = Array.from({ length: opts.schedules }, (_, i) => i)
    for (let i = 0; i < ids.length; i += 200) {
      await Promise.all(ids.slice(i, i + 200).map((k) => runner.schedules.set({ id: `far-${k}`, flow: 'far', cron: '0 0 1 1 *' })))
    }
    for (let k = 0; k < due; k++) await runner.schedules.set({ id: `due-${k}`, flow: 'tick', every: '1s' })
    await runner.start()
    await sleep(1500)
    const s0 = await commandStats(admin)
    const c0 = process.cpuUsage()
    const t0 = performance.now()
    await sleep(seconds * 1000)
    const cpu = process.cpuUsage(c0)
    const elapsed = (performance.now() - t0) / 1000
    const s1 = await commandStats(admin)
    const byCommand: Record<string, number> = {}
    let calls = 0
    let usec = 0
    for (const [cmd, v] of s1) {
      const before = s0.get(cmd) ?? { calls: 0, usec: 0 }
      // the two INFO calls of this measurement are not the runner's
      const d = v.calls - before.calls - (cmd === 'info' ? 1 : 0)
      if (d <= 0) continue
      byCommand[cmd] = Math.round((d / elapsed) * 10) / 10
      calls += d
      usec += v.usec - before.usec
    }
    return {
      schedules: opts.schedules,
      dueEverySecond: due,
      seconds: Math.round(elapsed * 10) / 10,
      commandsPerSec: Math.round((calls / elapsed) * 10) / 10,
      byCommand,
      redisUsecPerSec: Math.round(usec / elapsed),
      nodeCpuMsPerSec: Math.round(((cpu.user + cpu.system) / 1000 / elapsed) * 10) / 10,
    }
  } finally {
    await runner.stop()
    await store.close()
    admin.disconnect()
  }
}
