/**
 * Faults with the runner on BullMQ and real worker processes:
 * F1 (SIGKILL after step.started), F2 (SIGKILL after a ctx.do effect),
 * F18 (SIGTERM mid-step drains), F5 (redis-server SIGKILLed and restarted),
 * `stop()` after a clean SHUTDOWN of Redis.
 */

import { createBullMQQueue } from '@leanflow/bullmq'
import { type EventRecord, reduceFlow } from '@leanflow/core'
import { createRedisStreamStore } from '@leanflow/redis'
import { createRunner, defineFlow, type Runner } from '@leanflow/runner'
import { sleep } from '@leanflow/testing'
import { Redis } from 'ioredis'
import { afterEach, describe, expect, it } from 'vitest'
import { type RedisServer, startRedis, useRedisServer } from '../helpers/redisServer.js'
import { waitFor } from '../helpers/waitFor.js'
import { checkRunLog, waitForRuns } from '../workers/checkRunLog.js'
import { effectKey, makeFlows } from '../workers/flows.js'
import { type ForkedWorker, forkWorker, stopWorkers } from '../workers/forkWorker.js'

/** Its client reads the effect counters the flows write (workers/flows.ts). */
const redis = useRedisServer({ args: ['--hz', '100'], client: true })
let n = 0
const children: ForkedWorker[] = []
const closers: Array<() => Promise<void>> = []
const servers: RedisServer[] = []

afterEach(async () => {
  await stopWorkers(children)
  for (const close of closers.splice(0)) await close()
  for (const s of servers.splice(0)) await s.stop()
})

const FAST = { LOCK_MS: '1000', STALLED_MS: '500' }
const STEPS = ['a', 'b', 'c', 'd', 'e']
const isCheckpoint = (at: string) => (m: Record<string, unknown>) => m.type === 'checkpoint' && m.at === at
const ready = (w: ForkedWorker) => w.waitFor((m) => m.type === 'ready', 'ready')
// Victims run one step at a time (CONCURRENCY 1), so the kill lands exactly at
// the checkpoint: a step killed between its effect and the recording of the
// effect's result would rightly run the effect again (at-least-once).

function setup(server: RedisServer, env: Record<string, string> = {}) {
  const id = `f${++n}`
  const store = createRedisStreamStore({ url: server.url, prefix: id })
  const queue = createBullMQQueue({ url: server.url, queueName: id, onError: () => {} })
  closers.push(async () => {
    await queue.close()
    await store.close()
  })
  const producer: Runner = createRunner({ store, queue, flows: makeFlows(redis.client) })
  const spawn = (extra: Record<string, string> = {}) => {
    const w = forkWorker('runnerWorker.ts', { REDIS_URL: server.url, QUEUE_NAME: id, STORE_PREFIX: id, ...env, ...extra })
    children.push(w)
    return w
  }
  const start = async (count: number, input: Record<string, unknown> = {}) => {
    const runs = await Promise.all(Array.from({ length: count }, () => producer.startFlow('five', { ns: id, ...input })))
    return runs.map((r) => r.runId)
  }
  return { id, store, producer, spawn, start }
}

async function effectCounts(ns: string, runIds: string[]) {
  const keys = runIds.flatMap((runId) => STEPS.map((s) => effectKey(ns, runId, s)))
  const values = await redis.client.mget(...keys)
  return Object.fromEntries(keys.map((k, i) => [k, values[i]]))
}
const allOnes = (counts: Record<string, string | null | undefined>) => Object.entries(counts).filter(([, v]) => v !== '1')

describe('runner on BullMQ: worker and server faults', () => {
  it('F1: a worker SIGKILLed right after step.started; another worker finishes the step; the runs complete', async () => {
    const { id, store, spawn, start } = setup(redis, FAST)
    const victim = spawn({ HANG_STEP: 'd', HANG_AT: 'started', CONCURRENCY: '1' })
    await ready(victim)
    const runIds = await start(3)
    const cp = await victim.waitFor(isCheckpoint('started'), 'checkpoint after step.started of d')
    const before = await store.read(cp.runId as string, { limit: 1000 })
    expect(before.some((e) => e.kind === 'step.started' && e.step === 'd')).toBe(true)
    victim.kill('SIGKILL')
    await victim.exited
    const rescuer = spawn()
    await ready(rescuer)
    const logs = await waitForRuns(store, runIds, 60_000)
    expect([...logs.values()].flatMap(checkRunLog)).toEqual([])
    // No event written before the crash was lost.
    const after = logs.get(cp.runId as string) ?? []
    for (const e of before) expect(after.map((x) => x.id)).toContain(e.id)
    // The take-over is in the log: the same attempt started again, marked recovered.
    const startedD = after.filter((e) => e.kind === 'step.started' && e.step === 'd')
    expect(startedD.map((e) => [e.meta?.attempt, (e.data as { recovered?: boolean }).recovered ?? false])).toEqual([
      [1, false],
      [1, true],
    ])
    expect(reduceFlow(after).steps.d).toMatchObject({ status: 'completed', attempt: 1, recoveries: 1 })
    expect(allOnes(await effectCounts(id, runIds))).toEqual([])
  })

  it('F2: a worker SIGKILLed after a ctx.do effect; the effect does not run again', async () => {
    const { id, store, spawn, start } = setup(redis, FAST)
    const victim = spawn({ HANG_STEP: 'b', HANG_AT: 'effect', CONCURRENCY: '1' })
    await ready(victim)
    const runIds = await start(3)
    const cp = await victim.waitFor(isCheckpoint('effect'), 'checkpoint after the effect of b')
    expect(await redis.client.get(effectKey(id, cp.runId as string, 'b'))).toBe('1')
    victim.kill('SIGKILL')
    await victim.exited
    const rescuer = spawn()
    await ready(rescuer)
    const logs = await waitForRuns(store, runIds, 60_000)
    expect([...logs.values()].flatMap(checkRunLog)).toEqual([])
    expect(allOnes(await effectCounts(id, runIds))).toEqual([])
  })

  it('F2 under a false stall: a worker blocked past its lock goes on after another took its step over and recorded the ctx.do; the effect does not run again', async () => {
    const { id, store, spawn, start } = setup(redis, FAST)
    const stalled = spawn({ STALL_STEP: 'b', STALL_MS: '4000', CONCURRENCY: '1' })
    await ready(stalled)
    const runIds = await start(1)
    const cp = await stalled.waitFor(isCheckpoint('stalling'), 'the stall in b', 60_000)
    const rescuer = spawn()
    await ready(rescuer)
    // the rescuer takes b over once the stalled worker's lock lapses, and runs its effect
    await waitFor(
      async () => (await redis.client.get(effectKey(id, cp.runId as string, 'b'))) === '1',
      'the take-over ran the effect',
      30_000,
    )
    await stalled.waitFor(isCheckpoint('stalled'), 'the stalled worker going on', 30_000)
    const logs = await waitForRuns(store, runIds, 60_000)
    await sleep(1500) // the stalled worker's handler has called its ctx.do by now
    expect([...logs.values()].flatMap(checkRunLog)).toEqual([])
    expect(allOnes(await effectCounts(id, runIds))).toEqual([])
  })

  it('F2 under a frozen Redis: a ctx.do whose lease read waited out a freeze longer than the queue lock goes back to the queue; its slow effect runs once', async () => {
    // frozen 3 s (past the 1 s lock) from 5.5 s into b's 6 s wait, as its ctx.do asks: the read waits, and the lock lapses meanwhile
    await freezeInAwait(FAST, 5500, 3000)
  })

  it('F2 under a stall just past the lock, then an await: the lease poll answered after the stall does not vouch for the lapsed lock; the slow effect runs once', async () => {
    const { id, store, spawn, start } = setup(redis, FAST)
    // blocked 1.5 s (lock 1 s), then 100 ms of awaiting (the poll's answer comes), then a 5 s effect
    const stalled = spawn({ STALL_STEP: 'b', STALL_MS: '1500', AFTER_STALL_MS: '100', EFFECT_MS: '5000', CONCURRENCY: '1' })
    await ready(stalled)
    const runIds = await start(1)
    await stalled.waitFor(isCheckpoint('stalling'), 'the stall in b', 60_000)
    // the rescuer takes b over once the stalled worker's lock lapses, while its effect would still run
    const rescuer = spawn()
    await ready(rescuer)
    const logs = await waitForRuns(store, runIds, 60_000)
    await sleep(5500) // a slow effect started on either worker has counted by now
    expect([...logs.values()].flatMap(checkRunLog)).toEqual([])
    expect(allOnes(await effectCounts(id, runIds))).toEqual([])
  })

  /**
   * b awaits 6 s on a worker beside a rescuer; Redis freezes `freezeMs` from `freezeAt` ms into
   * that wait and thaws shortly before b's ctx.do (its 3 s effect), before another worker's
   * stalled check can take the step over. The effect runs once, the run completes.
   */
  async function freezeInAwait(env: Record<string, string>, freezeAt: number, freezeMs: number) {
    const { id, store, spawn, start } = setup(redis, env)
    const slow = spawn({ HOLD_STEP: 'b', HOLD_MS: '6000', EFFECT_MS: '3000', CONCURRENCY: '1' })
    await ready(slow)
    const runIds = await start(1)
    await slow.waitFor(isCheckpoint('holding'), 'b holding', 60_000)
    const held = Date.now()
    const rescuer = spawn()
    await ready(rescuer)
    await sleep(Math.max(0, held + freezeAt - Date.now()))
    redis.freeze()
    await sleep(freezeMs)
    redis.thaw()
    const logs = await waitForRuns(store, runIds, 60_000)
    await sleep(3500) // a slow effect started on either worker has counted by now
    expect([...logs.values()].flatMap(checkRunLog)).toEqual([])
    expect(allOnes(await effectCounts(id, runIds))).toEqual([])
  }

  it('F2 under a Redis freeze in an ordinary await: the polls answered at the thaw do not vouch for the lapsed lock; the ctx.do after it runs its slow effect once', async () => {
    // 1.5 s, past the 1 s lock, thawing 0.3 s before the ctx.do
    await freezeInAwait(FAST, 4200, 1500)
  })

  it('F18: SIGTERM mid-step: the worker drains (the step finishes), exits 0, and nothing waits for the lock', async () => {
    // Locks of 60 s: a step left locked by the stopped worker would hold the
    // run past this test's timeout.
    const { id, store, spawn, start } = setup(redis, { LOCK_MS: '60000', STALLED_MS: '60000' })
    const victim = spawn({ HOLD_STEP: 'c', HOLD_MS: '1500' })
    await ready(victim)
    const runIds = await start(4)
    const cp = await victim.waitFor(isCheckpoint('holding'), 'step c holding')
    victim.kill('SIGTERM')
    expect(await victim.exited).toEqual({ code: 0, signal: null })
    const order = victim.messages.map((m) => `${m.type}${m.at ? `:${m.at}` : ''}`).filter((m) => m !== 'ready')
    expect(order).toEqual(['checkpoint:holding', 'checkpoint:held', 'closed'])
    const other = spawn()
    await ready(other)
    const logs = await waitForRuns(store, runIds, 30_000)
    expect([...logs.values()].flatMap(checkRunLog)).toEqual([])
    expect(allOnes(await effectCounts(id, runIds))).toEqual([])
    // The held step completed once, on its first attempt.
    const held = (logs.get(cp.runId as string) ?? []).filter((e) => e.step === 'c' && e.kind === 'step.started')
    expect(held.map((e) => e.meta?.attempt)).toEqual([1])
  }, 40_000)

  it('F18: SIGTERM with a step longer than drainTimeoutMs: the step goes back to the queue and another worker finishes it', async () => {
    const { id, store, spawn, start } = setup(redis, { LOCK_MS: '60000', STALLED_MS: '60000' })
    const victim = spawn({ HOLD_STEP: 'c', HOLD_MS: '20000', DRAIN_MS: '300', CONCURRENCY: '1' })
    await ready(victim)
    const runIds = await start(2)
    const cp = await victim.waitFor(isCheckpoint('holding'), 'step c holding')
    victim.kill('SIGTERM')
    expect(await victim.exited).toEqual({ code: 0, signal: null })
    expect(victim.messages.some(isCheckpoint('held'))).toBe(false)
    const other = spawn()
    await ready(other)
    const logs = await waitForRuns(store, runIds, 30_000)
    expect([...logs.values()].flatMap(checkRunLog)).toEqual([])
    expect(logs.get(cp.runId as string)?.some((e) => e.kind === 'step.completed' && e.step === 'c')).toBe(true)
    expect(allOnes(await effectCounts(id, runIds))).toEqual([])
  }, 40_000)

  it('F18/F19: a worker whose clock is 5 minutes ahead hands a step back at SIGTERM; another worker takes it after the backoff, not 5 minutes late', async () => {
    const { store, spawn, start } = setup(redis, { LOCK_MS: '60000', STALLED_MS: '60000' })
    const victim = spawn({ HOLD_STEP: 'c', HOLD_MS: '20000', DRAIN_MS: '300', CONCURRENCY: '1', CLOCK_SKEW_MS: String(5 * 60_000) })
    await ready(victim)
    const runIds = await start(1)
    await victim.waitFor(isCheckpoint('holding'), 'step c holding')
    victim.kill('SIGTERM')
    expect(await victim.exited).toEqual({ code: 0, signal: null })
    const other = spawn()
    await ready(other)
    // the hand-back's backoff is about 1 s; dated by the victim's clock it would be due 5 minutes later
    const logs = await waitForRuns(store, runIds, 20_000)
    expect([...logs.values()].flatMap(checkRunLog)).toEqual([])
  }, 40_000)

  it('F19: a worker whose clock is 5 minutes ahead adds a timer and dies; another worker fires it on time, not 5 minutes late', async () => {
    const { id, store, spawn, start } = setup(redis, FAST)
    const skewed = spawn({ CLOCK_SKEW_MS: String(5 * 60_000), CONCURRENCY: '1' })
    await ready(skewed)
    const [runId] = await start(1, { sleepMs: 1500 })
    // the timer of step c is in BullMQ's delayed set: the skewed worker added it
    const delayed = `lfq:${id}:delayed`
    await waitFor(async () => (await redis.client.zcard(delayed)) > 0, 'the timer job of step c', 20_000)
    const log = await store.read(runId as string, { limit: 100 })
    const awaited = log.find((e) => e.kind === 'step.await.time')
    expect(awaited, 'step c awaits its timer').toBeDefined()
    skewed.kill('SIGKILL')
    await skewed.exited
    const honest = spawn()
    await ready(honest)
    // due 1.5 s after the await; a timer dated by the dead worker's clock would be due 5 minutes later
    const logs = await waitForRuns(store, [runId as string], 30_000)
    expect([...logs.values()].flatMap(checkRunLog)).toEqual([])
    const resumed = logs.get(runId as string)?.find((e) => e.kind === 'step.resumed')
    const resumeAt = Date.parse((awaited?.data as { resumeAt?: string } | undefined)?.resumeAt ?? '')
    expect(Date.parse(resumed?.ts ?? '')).toBeGreaterThanOrEqual(resumeAt)
    expect(Date.parse(resumed?.ts ?? '') - resumeAt, 'the timer fired within 20 s of its time').toBeLessThan(20_000)
  }, 60_000)

  it('F19: a worker whose clock is 5 minutes behind, beside an honest one: the timers fire on time, not when the slow clock says', async () => {
    const { store, spawn, start } = setup(redis, FAST)
    const workers = [spawn({ CLOCK_SKEW_MS: String(-5 * 60_000) }), spawn()]
    await Promise.all(workers.map(ready))
    // one run at a time: both workers idle, blocked on BullMQ's wake-up marker, which either one takes
    const logs = new Map<string, EventRecord[]>()
    for (let i = 0; i < 3; i++) {
      const runIds = await start(1, { sleepMs: 1000 })
      for (const [id, log] of await waitForRuns(store, runIds, 30_000)) logs.set(id, log)
    }
    expect([...logs.values()].flatMap(checkRunLog)).toEqual([])
    for (const log of logs.values()) {
      const awaited = log.find((e) => e.kind === 'step.await.time')
      const resumed = log.find((e) => e.kind === 'step.resumed')
      const late = Date.parse(resumed?.ts ?? '') - Date.parse((awaited?.data as { resumeAt?: string } | undefined)?.resumeAt ?? '')
      expect(late).toBeGreaterThanOrEqual(0)
      // an idle honest worker looks every second; the slow one, holding the wake-up marker, would leave it up to 5 s
      expect(late, 'the timer fired within 3 s of its time').toBeLessThan(3000)
    }
  }, 60_000)

  it('F5: redis-server SIGKILLed and restarted (AOF) while runs are in flight; all complete', async () => {
    const server = await startRedis({ appendonly: true, args: ['--hz', '100'] })
    servers.push(server)
    const { store, spawn, start } = setup(server, { ...FAST, QUIET: process.env.LF_VERBOSE ? '0' : '1' })
    const workers = [spawn(), spawn()]
    await Promise.all(workers.map(ready))
    const runIds = await start(40, { sleepMs: 300 })
    // Some progress first, so the crash lands mid-run.
    const firstRun = runIds[0] as string
    await waitFor(
      async () => (await store.read(firstRun, { limit: 100 })).some((e) => e.kind === 'step.completed'),
      'progress before the crash',
      30_000,
    )
    await server.kill()
    await new Promise((r) => setTimeout(r, 500))
    await server.restart()
    const logs = await waitForRuns(store, runIds, 90_000)
    expect([...logs.values()].flatMap(checkRunLog)).toEqual([])
  })

  it('F18/F22: runner.stop() after a clean SHUTDOWN of its Redis returns in bounded time', async () => {
    const server = await startRedis()
    servers.push(server)
    const store = createRedisStreamStore({ url: server.url, prefix: 'shut', commandTimeout: 300 })
    const lost: Error[] = []
    const queue = createBullMQQueue({ url: server.url, queueName: 'shut', commandTimeout: 300, onError: (err) => lost.push(err) })
    const flow = defineFlow({ name: 'one', steps: { only: { handler: async () => 1 } } })
    const runner = createRunner({ store, queue, flows: [flow], onError: () => {} })
    await runner.start()
    const { runId } = await runner.startFlow('one', {})
    await waitForRuns(store, [runId], 10_000)
    const admin = new Redis(server.url, { maxRetriesPerRequest: 0, retryStrategy: () => null })
    admin.on('error', () => {})
    await admin.call('SHUTDOWN', 'NOSAVE').catch(() => {}) // the server closes the connection: no reply
    admin.disconnect()
    // the worker's connections are reconnecting (ioredis 5 then never ends one on disconnect)
    await waitFor(() => lost.some((err) => /ECONNREFUSED/.test(err.message)), 'the queue trying to reconnect')
    const outcome = await Promise.race([runner.stop().then(() => 'stopped'), sleep(3000).then(() => 'still stopping')])
    expect(outcome).toBe('stopped')
    expect(await Promise.race([queue.close().then(() => 'closed'), sleep(1000).then(() => 'still closing')])).toBe('closed')
    await store.close()
  })
})
