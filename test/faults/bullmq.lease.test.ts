/**
 * F2 on BullMQ under lease loss, with real worker processes: a worker blocked or a Redis frozen
 * past the queue lock while a step runs; another worker takes the step over, and each ctx.do's
 * effect still runs once.
 */

import { sleep } from '@leanflow/testing'
import { describe, expect, it } from 'vitest'
import { waitFor } from '../helpers/waitFor.js'
import { allOnes, FAST, isCheckpoint, ready, useBullmqFaults } from '../workers/bullmqFaults.js'
import { checkRunLog, waitForRuns } from '../workers/checkRunLog.js'
import { effectKey } from '../workers/flows.js'

const { redis, setup, effectCounts } = useBullmqFaults()

describe('runner on BullMQ: lease loss mid-step', () => {
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

  it("F2 under a lock that lapsed while the worker's store reads answered (BullMQ's renewals failed): the ctx.do after it renews the lock first, finds it lost, and hands the step back; the slow effect runs once", async () => {
    const { id, store, spawn, start } = setup(redis, FAST)
    // b holds 2 s, then its lock lapses and its ctx.do (a 3 s effect) comes at once: the lease poll
    // answered 200 ms ago at most, and the rescuer's stalled check takes the step over within a second
    const slow = spawn({ HOLD_STEP: 'b', HOLD_MS: '2000', LAPSE_LOCK: '1', EFFECT_MS: '3000', CONCURRENCY: '1' })
    await ready(slow)
    const rescuer = spawn()
    await ready(rescuer)
    const runIds = await start(1)
    const lapsed = await slow.waitFor(isCheckpoint('lapsed'), 'the lock of b lapsed', 60_000)
    expect(lapsed.locks, 'the one job running held one lock').toBe(1)
    const logs = await waitForRuns(store, runIds, 60_000)
    await sleep(3500) // a slow effect started on either worker has counted by now
    expect([...logs.values()].flatMap(checkRunLog)).toEqual([])
    expect(allOnes(await effectCounts(id, runIds))).toEqual([])
  })
})
