/**
 * Schedules across real processes on one real redis-server (FAULTS.md F25, the guarantees of
 * docs design/schedules.md): every tick exactly once while a runner is SIGKILLed and restarted,
 * pause and resume on every runner, a schedule whose flow a runner does not hold, and the
 * BullMQ queue. Worker processes are `test/workers/scheduleWorker.ts`; this process only
 * manages schedules (a runner it never starts) and reads the runs.
 */
import { createRedisStreamStore, type RedisStreamStore } from '@leanflow/redis'
import { createRunner, type Runner, type ScheduleDefinition } from '@leanflow/runner'
import { afterEach, describe, expect, it } from 'vitest'
import { useRedisServer } from '../helpers/redisServer.js'
import { waitFor } from '../helpers/waitFor.js'
import { type ForkedWorker, forkWorker, stopWorkers } from '../workers/forkWorker.js'
import { scheduleFlows } from '../workers/scheduleFlows.js'

const redis = useRedisServer({ args: ['--hz', '100'], client: true })
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
let n = 0
const children: ForkedWorker[] = []
const closers: Array<() => Promise<void>> = []

afterEach(async () => {
  await stopWorkers(children, 5000)
  for (const close of closers.splice(0)) await close()
})

/** A fresh store prefix, a runner of it that is never started (it manages schedules), and a way to fork workers on it. */
function setup(flows = ['tick', 'held', 'other']) {
  const prefix = `sch${++n}`
  const store: RedisStreamStore = createRedisStreamStore({ url: redis.url, prefix })
  closers.push(() => store.close())
  const admin: Runner = createRunner({ store, flows: scheduleFlows(flows) })
  const spawn = (env: Record<string, string> = {}) => {
    const w = forkWorker('scheduleWorker.ts', { REDIS_URL: redis.url, STORE_PREFIX: prefix, ...env })
    children.push(w)
    return w
  }
  const ready = (ws: ForkedWorker[]) => Promise.all(ws.map((w) => w.waitFor((m) => m.type === 'ready', 'ready')))
  return { prefix, store, admin, spawn, ready }
}

/** The store's clock (Redis TIME), ms: the clock ticks are due on. */
async function redisNow(): Promise<number> {
  const [s, us] = await redis.client.time()
  return Number(s) * 1000 + Math.floor(Number(us) / 1000)
}

interface TickRun {
  runId: string
  id: string
  tick: number
  status: string
  /** `flow.started` ts (ms). */
  startedAt: number
}

/** Every run of `flow`, with its flow.started `data.schedule`, by tick. */
async function scheduledRuns(store: RedisStreamStore, flow: string): Promise<TickRun[]> {
  const out: TickRun[] = []
  let before: number | undefined
  for (;;) {
    const page = await store.listRuns(flow, { limit: 500, ...(before === undefined ? {} : { before }) })
    for (const r of page) {
      const [first] = await store.read(r.runId, { limit: 1 })
      const schedule = (first?.data as { schedule?: { id: string; tick: string } } | undefined)?.schedule
      if (!first || !schedule) throw new Error(`run ${r.runId} of ${flow} has no flow.started data.schedule`)
      out.push({ runId: r.runId, id: schedule.id, tick: Date.parse(schedule.tick), status: r.status, startedAt: Date.parse(first.ts) })
    }
    if (page.length < 500) break
    before = Date.parse(page.at(-1)?.startedAt ?? '')
  }
  return out.sort((a, b) => a.tick - b.tick)
}

/** Problems with the ticks of one every-second schedule: duplicates, gaps between the first and the last. */
function tickProblems(runs: TickRun[], spacingMs = 1000): string[] {
  const problems: string[] = []
  const iso = (t: number) => new Date(t).toISOString()
  for (let i = 1; i < runs.length; i++) {
    const [a, b] = [runs[i - 1] as TickRun, runs[i] as TickRun]
    if (b.tick === a.tick) problems.push(`tick ${iso(b.tick)} twice (${a.runId}, ${b.runId})`)
    else if (b.tick - a.tick !== spacingMs) problems.push(`gap between ${iso(a.tick)} and ${iso(b.tick)}`)
  }
  return problems
}

describe('schedules across processes', () => {
  it('F25: 3 runners, one SIGKILLed mid-tick and restarted: each of 15 ticks of an every-second cron schedule has exactly one run', async () => {
    const { store, spawn, ready } = setup()
    const def: ScheduleDefinition = { id: 'each-second', cron: '* * * * * *', catchUp: 'all' }
    const env = { SCHEDULE: JSON.stringify(def) }
    // the first worker hangs right after storing its 3rd schedule start, before the due time moves on
    const victim = spawn({ ...env, HANG_AT_START: '3' })
    const others = [spawn(env), spawn(env)]
    await ready([victim, ...others])
    const from = await redisNow()
    const hung = await victim.waitFor((m) => m.type === 'checkpoint', 'the victim to hang after a schedule start', 20_000)
    victim.kill('SIGKILL')
    await victim.exited
    await sleep(4000)
    const again = spawn(env)
    await ready([again])
    // 15 ticks from the first workers' start (some 4 of them after the restarted worker is ready)
    await waitFor(async () => (await redisNow()) > from + 16_000, '15 ticks', 30_000)
    await stopWorkers(children, 5000)
    const to = await redisNow()
    const runs = await scheduledRuns(store, 'tick')
    expect(tickProblems(runs)).toEqual([])
    expect(runs.every((r) => r.id === 'each-second')).toBe(true)
    // none missing at either end: the first tick after the workers were ready, the last before they stopped
    expect(runs[0]?.tick).toBeLessThanOrEqual(from + 1000)
    expect(runs.at(-1)?.tick).toBeGreaterThanOrEqual(to - 2000)
    expect(runs.length).toBeGreaterThanOrEqual(15)
    // the tick the victim was killed on has its one run
    expect(runs.filter((r) => r.tick === Date.parse(String(hung.tick)))).toHaveLength(1)
  })

  it('pause stops firing at once on all 3 runners; resume fires from the next tick after now, none of the paused ones', async () => {
    const { store, admin, spawn, ready } = setup()
    await admin.schedules.set({ id: 'pausable', flow: 'tick', every: '1s', catchUp: 'all' })
    const workers = [spawn(), spawn(), spawn()]
    await ready(workers)
    await waitFor(async () => (await scheduledRuns(store, 'tick')).length >= 3, 'three ticks', 10_000)
    // pause mid-second, so a tick is neither due at the instant nor just past
    await sleep(1000 - ((await redisNow()) % 1000) + 400)
    const paused = await admin.schedules.pause('pausable')
    const pausedAt = await redisNow() // after pause() resolved, on the store's clock
    const atPause = await scheduledRuns(store, 'tick')
    expect(paused).toMatchObject({ paused: true, nextRunAt: null })
    await sleep(3500)
    const whilePaused = await scheduledRuns(store, 'tick')
    // the tick in flight: a runner that read the schedule before the pause was written may still
    // start its run for a tick due at or before the instant pause() resolved — at most that one run;
    // no run for a later tick, on any runner
    const late = whilePaused.filter((r) => !atPause.some((p) => p.runId === r.runId))
    expect(late.length).toBeLessThanOrEqual(1)
    expect(whilePaused.filter((r) => r.tick > pausedAt)).toEqual([])
    expect(tickProblems(whilePaused)).toEqual([])

    const resumeAt = await redisNow()
    const resumed = await admin.schedules.resume('pausable')
    expect(resumed.paused).toBe(false)
    // the next tick from now: the next whole second after resume was called (not a paused one)
    const next = Date.parse(resumed.nextRunAt ?? '')
    expect(next).toBeGreaterThan(resumeAt)
    expect(next).toBeLessThanOrEqual(Math.floor(resumeAt / 1000) * 1000 + 2000)
    await waitFor(async () => (await scheduledRuns(store, 'tick')).some((r) => r.tick > resumeAt + 1500), 'two ticks after resume')
    const after = (await scheduledRuns(store, 'tick')).filter((r) => r.tick > pausedAt)
    // no catch-up of the ticks during the pause: the first run after it is the tick resume computed
    expect(after[0]?.tick).toBe(next)
    expect(tickProblems(after)).toEqual([])
  })

  it('a stored schedule of a flow one runner does not hold: that runner never fires it, the one that holds it fires each tick once', async () => {
    const { store, admin, spawn, ready } = setup()
    await admin.schedules.set({ id: 'held-only', flow: 'held', every: '1s', catchUp: 'all' })
    const without = spawn({ FLOWS: 'tick,other' })
    await ready([without])
    await sleep(3000)
    expect(await scheduledRuns(store, 'held')).toEqual([])
    const holder = spawn({ FLOWS: 'tick,held' })
    const [, ready2] = await ready([without, holder])
    await sleep(3500)
    await stopWorkers(children, 5000)
    const runs = await scheduledRuns(store, 'held')
    // the ticks since the schedule was set (the 3 s without a holder were late, not missed: they fire too)
    expect(runs.length).toBeGreaterThanOrEqual(5)
    expect(tickProblems(runs)).toEqual([])
    // every run was started (and, on the memory queue, run) by the holder
    for (const r of runs) {
      const out = (await store.read(r.runId)).find((e) => e.kind === 'step.completed')?.data as { result?: { pid?: number } } | undefined
      if (out) expect(out.result?.pid).toBe(ready2?.pid)
    }
    expect(without.messages.filter((m) => m.type === 'error')).toEqual([])
  })

  it('50 due schedules of a flow no started runner holds do not stop a runner from firing the schedules of its own flows', async () => {
    const { store, admin, spawn, ready } = setup()
    // due every second; no running process holds `other`
    for (let i = 0; i < 50; i++) await admin.schedules.set({ id: `orphan-${i}`, flow: 'other', every: '1s' })
    await sleep(1100)
    await admin.schedules.set({ id: 'mine', flow: 'held', every: '1s' })
    const holder = spawn({ FLOWS: 'held' })
    await ready([holder])
    await sleep(3500)
    const runs = await scheduledRuns(store, 'held')
    expect(runs.length).toBeGreaterThanOrEqual(3)
    expect(tickProblems(runs)).toEqual([])
  })

  it('on the BullMQ queue: 2 runners fire each tick once and the runs complete (any process runs them)', async () => {
    const { prefix, store, admin, spawn, ready } = setup()
    const env = { QUEUE: 'bullmq', QUEUE_NAME: prefix, FLOWS: 'tick' }
    await admin.schedules.set({ id: 'on-bullmq', flow: 'tick', every: '1s' })
    const workers = [spawn(env), spawn(env)]
    await ready(workers)
    await waitFor(
      async () => (await scheduledRuns(store, 'tick')).filter((r) => r.status === 'completed').length >= 5,
      '5 completed',
      15_000,
    )
    await admin.schedules.pause('on-bullmq')
    await sleep(500)
    const runs = await scheduledRuns(store, 'tick')
    expect(tickProblems(runs)).toEqual([])
    await waitFor(async () => (await scheduledRuns(store, 'tick')).every((r) => r.status === 'completed'), 'every run completed')
    for (const w of workers) expect(w.messages.filter((m) => m.type === 'error')).toEqual([])
  })
})
