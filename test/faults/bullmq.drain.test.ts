/**
 * F18 and F19 on BullMQ with real worker processes: SIGTERM mid-step drains or hands the step
 * back; workers whose clocks are minutes off still fire timers and retries on time.
 */

import type { EventRecord } from '@leanflow/core'
import { describe, expect, it } from 'vitest'
import { waitFor } from '../helpers/waitFor.js'
import { allOnes, FAST, isCheckpoint, ready, useBullmqFaults } from '../workers/bullmqFaults.js'
import { checkRunLog, waitForRuns } from '../workers/checkRunLog.js'

const { redis, setup, effectCounts } = useBullmqFaults()

describe('runner on BullMQ: drains and skewed clocks', () => {
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
})
