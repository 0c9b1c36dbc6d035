/**
 * Flow control across real processes on one real redis-server (design/flow-control.md,
 * guarantees 1-3): limits held in the store and shared by every worker, while workers are
 * SIGKILLed; a release lost to a crash repaired; a rate limit held by 3 processes. Worker
 * processes are `test/workers/limitWorker.ts` on BullMQ; this process only starts runs (a runner
 * it never starts) and reads.
 */
import { reduceFlow } from '@leanflow/core'
import type { RedisStreamStore } from '@leanflow/redis'
import { describe, expect, it } from 'vitest'
import { useRedisServer } from '../helpers/redisServer.js'
import { waitFor } from '../helpers/waitFor.js'
import { holdersKey, limitFlows, violationsKey } from '../workers/limitFlows.js'
import { useWorkerFleet } from '../workers/workerFleet.js'

const redis = useRedisServer({ args: ['--hz', '100'], client: true })
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const fleet = useWorkerFleet({ redis, prefix: 'fc', worker: 'limitWorker.ts', flows: () => limitFlows(redis.client), env: { QUIET: '1' } })
/** A fresh prefix and queue, a producer runner (never started) and a way to fork workers on them. */
const setup = () => fleet.setup()

/** Statuses of every run of `flow`, counted. */
async function statuses(store: RedisStreamStore, flow: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {}
  for (const r of await store.listRuns(flow, { limit: 10_000 })) out[r.status] = (out[r.status] ?? 0) + 1
  return out
}

describe('flow control across processes', () => {
  it('limit 2 per key over 5 keys, 300 runs, 3 workers, one SIGKILLed every second for 6 s: never more than 2 holders per key, all complete, no slot left', async () => {
    const { id, store, producer, spawn, ready } = setup()
    const workers = [spawn(), spawn(), spawn()]
    await ready(workers)
    const keys = ['k0', 'k1', 'k2', 'k3', 'k4']
    const runIds: string[] = []
    for (let i = 0; i < 300; i++) runIds.push((await producer.startFlow('perKey', { ns: id, key: keys[i % 5] as string, ms: 15 })).runId)
    for (let k = 0; k < 6; k++) {
      await sleep(1000)
      const i = k % workers.length
      workers[i]?.kill('SIGKILL')
      await workers[i]?.exited
      workers[i] = spawn()
    }
    await ready(workers)
    await waitFor(async () => (await statuses(store, 'perKey')).completed === 300, '300 runs completed', 120_000)
    expect(await redis.client.lrange(violationsKey(id), 0, -1)).toEqual([])
    // every holder set is empty again (each run left it at its end) and no slot is held
    for (const k of keys) expect(await redis.client.scard(holdersKey(id, k))).toBe(0)
    await waitFor(
      async () => (await producer.limits('perKey')).limits.every((l) => l.active === 0 && l.queued === 0),
      'no slot held',
      30_000,
    )
  }, 180_000)

  it('a release lost to a crash (the worker dies between the run end and the release) is repaired: the queued run runs', async () => {
    const { store, producer, spawn, ready } = setup()
    const doomed = spawn({ DIE_BEFORE_RELEASE: '1' })
    await ready([doomed])
    const first = await producer.startFlow('single', { n: 1 })
    const second = await producer.startFlow('single', { n: 2 })
    await doomed.waitFor((m) => m.type === 'checkpoint' && m.at === 'release', 'the first release')
    await doomed.exited
    expect((await store.listRuns('single', { status: 'queued' })).map((r) => r.runId)).toEqual([second.runId])
    // the run ended; its slot is still held: the release was lost
    expect((await producer.limits('single')).limits).toEqual([{ scope: 'flow', kind: 'concurrency', key: '', active: 1, queued: 1 }])
    const healthy = spawn()
    await ready([healthy])
    await waitFor(async () => (await statuses(store, 'single')).completed === 2, 'both runs completed', 60_000)
    const st = await statuses(store, 'single')
    expect(st).toEqual({ completed: 2 })
    await waitFor(async () => (await producer.limits('single')).limits.length === 0, 'no slot held', 30_000)
    expect(first.runId).not.toBe(second.runId)
  }, 90_000)

  it("a hand-off lost to a crash (a release admitted the queued run, wrote it running, and the worker died before its step job was queued) is repaired by the run's admit job: the run runs, no slot left", async () => {
    const { store, producer, spawn, ready } = setup()
    const doomed = spawn({ DIE_ON_STEP_ENQUEUE: '1' })
    await ready([doomed])
    await producer.startFlow('single', { n: 1 })
    const second = await producer.startFlow('single', { n: 2 })
    await doomed.waitFor((m) => m.type === 'checkpoint' && m.at === 'enqueue', 'the hand-off of the queued run')
    await doomed.exited
    // admitted and written running, with no job to run its step
    expect((await store.getRunState<{ status: string }>(second.runId))?.doc.status).toBe('running')
    const healthy = spawn()
    await ready([healthy])
    await waitFor(async () => (await statuses(store, 'single')).completed === 2, 'both runs completed', 60_000)
    await waitFor(async () => (await producer.limits('single')).limits.length === 0, 'no slot held', 30_000)
  }, 90_000)

  it('F23: a worker SIGKILLed while its step holds a step-level slot: the re-delivered job waits for the lease, then takes the step over; every run completes', async () => {
    const { store, producer, spawn, ready } = setup()
    // the slot's lease outlives the job's re-delivery (lockDuration 2 s): the re-delivered job finds the slot still held
    const env = { SLOT_LEASE_MS: '6000' }
    const doomed = spawn({ ...env, HANG_SLOT: '1' })
    await ready([doomed])
    const runIds: string[] = []
    for (let i = 0; i < 3; i++) runIds.push((await producer.startFlow('stepOne', { ms: 20 })).runId)
    const hung = (await doomed.waitFor((m) => m.type === 'checkpoint' && m.at === 'slot', 'a handler holding the slot')).runId as string
    const healthy = spawn(env)
    await ready([healthy])
    doomed.kill('SIGKILL')
    await doomed.exited
    await waitFor(async () => (await statuses(store, 'stepOne')).completed === 3, '3 runs completed', 40_000)
    const state = reduceFlow(await store.read(hung))
    expect(state.steps.a).toMatchObject({ status: 'completed', attempt: 1, recoveries: 1 })
    await waitFor(
      async () => (await producer.limits('stepOne')).limits.every((l) => l.active === 0 && l.queued === 0),
      'no slot held',
      30_000,
    )
    expect(runIds).toContain(hung)
  }, 90_000)

  it('a singleton start SIGKILLed after its key was taken, before its run was written: the next start of the key gets a run, not the dead one', async () => {
    const { store, producer, spawn, ready } = setup()
    const doomed = spawn({ DIE_AFTER_ACQUIRE: '1' })
    await ready([doomed])
    doomed.proc.send({ type: 'start', flow: 'only', input: { u: 'x' } })
    const { answer } = await doomed.waitFor((m) => m.type === 'checkpoint' && m.at === 'acquired', 'the key taken')
    expect(answer).toMatchObject({ state: 'admitted' })
    await doomed.exited
    expect(await store.listRuns('only')).toEqual([])
    const healthy = spawn()
    await ready([healthy])
    const { runId, deduplicated } = await producer.startFlow('only', { u: 'x' })
    expect(deduplicated).toBeUndefined()
    expect(await producer.result(runId, { timeout: '20s' })).toEqual({ a: { u: 'x' } })
    // and the key is free again once that run ended
    const next = await producer.startFlow('only', { u: 'x' })
    expect(next.runId).not.toBe(runId)
    expect(await producer.result(next.runId, { timeout: '20s' })).toEqual({ a: { u: 'x' } })
  }, 60_000)

  it('a debounced start SIGKILLed after it opened its window, before its run was written: the next calls of the key get a run', async () => {
    const { producer, spawn, ready } = setup()
    const doomed = spawn({ DIE_AFTER_ACQUIRE: '1' })
    await ready([doomed])
    doomed.proc.send({ type: 'start', flow: 'deb', input: { u: 'x', n: 0 } })
    const { answer } = await doomed.waitFor((m) => m.type === 'checkpoint' && m.at === 'acquired', 'the window opened')
    expect(answer).toMatchObject({ first: true })
    await doomed.exited
    const healthy = spawn()
    await ready([healthy])
    const first = await producer.startFlow('deb', { u: 'x', n: 1 })
    const second = await producer.startFlow('deb', { u: 'x', n: 2 })
    expect(second).toEqual({ runId: first.runId, deduplicated: true })
    expect(await producer.result(first.runId, { timeout: '20s' })).toEqual({ a: { u: 'x', n: 2 } })
  }, 60_000)

  it('rate limit 20 per second held by 3 worker processes for 15 s: no window ever holds more than 20 admissions', async () => {
    const { store, producer, spawn, ready } = setup()
    const workers = [spawn(), spawn(), spawn()]
    await ready(workers)
    // more than 15 s of admissions: the queue never runs dry (CI's time: 15 s rather than 30)
    const total = 400
    const first = Date.now()
    await Promise.all(Array.from({ length: total }, (_, i) => producer.startFlow('rated', { i })))
    let max = 0
    let samples = 0
    const t0 = Date.now()
    while (Date.now() - t0 < 15_000) {
      const rate = (await producer.limits('rated')).limits.find((l) => l.kind === 'rateLimit')
      max = Math.max(max, rate?.active ?? 0)
      samples++
      await sleep(20)
    }
    expect(max).toBeLessThanOrEqual(20)
    expect(max).toBeGreaterThanOrEqual(15)
    expect(samples).toBeGreaterThan(100)
    // about 20 per second were admitted all along (the first 20 at once), counted from the first
    // start: under load the 400 starts take seconds, and the runs admitted meanwhile count too
    const st = await statuses(store, 'rated')
    const started = total - (st.queued ?? 0)
    expect(started).toBeGreaterThanOrEqual(20 * 11)
    expect(started).toBeLessThanOrEqual(20 * (Math.ceil((Date.now() - first) / 1000) + 1))
  }, 90_000)
})
