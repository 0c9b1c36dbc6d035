/**
 * Composition across real processes on one real redis-server (design/composition.md): guarantee
 * 3, a 1,000-way fan-out on 3 workers, and guarantee 5, `ctx.publish` reaching other runs once
 * through SIGKILLs (1 and 2 are in composition.test.ts, 4 in compositionCancel.test.ts: files of
 * their own, so they run side by side). Worker processes are `test/workers/composeWorker.ts` on
 * BullMQ (their store proxied to die at a precise point); this process only starts runs and reads.
 */
import { compareEventIds, type EventRecord } from '@leanflow/core'
import { describe, expect, it } from 'vitest'
import { waitFor } from '../helpers/waitFor.js'
import { BILLED, execKey } from '../workers/composeFlows.js'
import { killed, logOf, positionOf, positions, range, resultsOf, resumeGaps, runsOf, useComposeFleet } from './composeFleet.js'

const { redis, setup } = useComposeFleet()

const FANOUT = Number(process.env.COMPOSE_FANOUT ?? 1000)
/** Children of the fan-out repaired after a kill (by hand: COMPOSE_REPAIRED=1000). */
const REPAIRED = Number(process.env.COMPOSE_REPAIRED ?? 200)

describe('guarantee 3: fan-out', () => {
  it(`${FANOUT} invokes from one step on 3 workers: completes, at most one resume per child outcome, the log ordered with one event per position`, async () => {
    const { id, store, producer, spawn, ready } = setup()
    await ready([spawn(), spawn(), spawn()])
    const k = FANOUT
    const t0 = Date.now()
    const { runId } = await producer.startFlow('fan', { ns: id, k })
    const [result] = await resultsOf(producer, store, [runId], 150_000)
    const wallMs = Date.now() - t0
    expect(result).toEqual({ all: { count: k, sum: 10 * ((k * (k - 1)) / 2) } })
    const leaves = await runsOf(store, 'leaf')
    expect(leaves).toHaveLength(k)
    expect(leaves.every((r) => r.status === 'completed')).toBe(true)
    const log = await logOf(store, runId)
    // ordered: ids strictly increasing
    const disorder = log.slice(1).filter((e, i) => compareEventIds((log[i] as EventRecord).id, e.id) >= 0)
    expect(disorder).toEqual([])
    // one step.await.run per position, each naming its own child
    const awaited = log.filter((e) => e.kind === 'step.await.run')
    expect(awaited).toHaveLength(k)
    expect(new Set(awaited.map(positionOf))).toEqual(new Set(range(k)))
    expect(new Set(awaited.map((e) => (e.data as { childRunId: string }).childRunId)).size).toBe(k)
    // one attempt: resumes are not new attempts; the handler ran at most once more per child outcome
    expect(log.filter((e) => e.kind === 'step.started' && !(e.data as { recovered?: boolean }).recovered)).toHaveLength(1)
    const executions = Number(await redis.client.get(execKey(id, runId)))
    expect(executions).toBeLessThanOrEqual(k + 1)
    const resumed = positions(log, 'step.resumed')
    console.log(`fan-out of ${k}: ${wallMs} ms, ${log.length} parent events, ${executions} executions, ${resumed.length} step.resumed`)
    expect(resumed.length).toBeLessThanOrEqual(k)
    // each child's end logged once at its position
    const g = resumeGaps(log)
    expect({ missing: g.missing.length, repeated: g.repeated.length }, 'positions without / with several step.resumed').toEqual({
      missing: 0,
      repeated: 0,
    })
    expect(wallMs).toBeLessThan(60_000)
  }, 180_000)

  it(`the worker SIGKILLed as it created the first of ${REPAIRED} children (every await recorded, no child exists): the re-delivered job starts them together, and the parent resumes a few times, not once per child`, async () => {
    const { id, store, producer, spawn, ready } = setup()
    const doomed = spawn({ KILL: 'beforeChildCreate:1' })
    await ready([doomed])
    const k = REPAIRED
    const { runId } = await producer.startFlow('fan', { ns: id, k })
    await killed(doomed, 'the kill at the first child’s start')
    const t0 = Date.now()
    expect(await runsOf(store, 'leaf')).toEqual([])
    expect(Number(await redis.client.get(execKey(id, runId)))).toBe(1)
    await ready([spawn(), spawn()])
    const [result] = await resultsOf(producer, store, [runId], 90_000)
    expect(result).toEqual({ all: { count: k, sum: 10 * ((k * (k - 1)) / 2) } })
    const log = await logOf(store, runId)
    expect(positions(log, 'step.await.run').sort((a, b) => a - b)).toEqual(range(k))
    expect(resumeGaps(log)).toEqual({ missing: [], repeated: [] })
    // children started one at a time each end before the next starts: 71 resumes for 200 children;
    // started together, their ends fold into a few writes of the parent. The first jobs the killed
    // worker queued for them go back to the queue while their runs are missing (they no longer hold
    // the workers' slots for 10 s, ahead of the parent's own job), each asking to come back after
    // half its age (2 s at most): 4–11 executions for 200 children, 3.8–4.6 s from the kill
    // (2–5 and 11–12 s when they waited in the slots; 37–42 and 5 s when they came back on the
    // queue's backoff, spread by its jitter)
    const executions = Number(await redis.client.get(execKey(id, runId)))
    console.log(`repaired fan-out of ${k}: ${executions} executions, ${Date.now() - t0} ms from the kill`)
    expect(executions).toBeLessThanOrEqual(Math.ceil(k / 8))
  }, 150_000)
})

describe('guarantee 5: ctx.publish reaches other runs once', () => {
  it('the publishing worker SIGKILLed right after the event was stored: each of 3 listening runs resumes once, one event stored', async () => {
    const { store, producer, spawn, ready } = setup()
    const doomed = spawn({ KILL: 'afterPublish:1' })
    await ready([doomed])
    const listeners = await Promise.all(range(3).map(async () => (await producer.startFlow('listen', { id: 'o-1' })).runId))
    await waitFor(
      async () => (await Promise.all(listeners.map((l) => logOf(store, l)))).every((log) => log.some((e) => e.kind === 'step.await.event')),
      'the listeners awaiting',
      30_000,
    )
    const { runId: publisher } = await producer.startFlow('pub', { id: 'o-1' })
    await killed(doomed, 'the kill after the publish')
    // stored, matched to nobody yet
    expect(await store.readExternal(BILLED, 0)).toHaveLength(1)
    for (const l of listeners) expect(positions(await logOf(store, l), 'step.resumed')).toEqual([])
    await ready([spawn()])
    expect(await producer.result(publisher, { timeout: '60s' })).toEqual({ s: 'published' })
    for (const l of listeners) {
      expect(await producer.result(l, { timeout: '60s' })).toEqual({ l: { id: 'o-1' } })
      expect(positions(await logOf(store, l), 'step.resumed')).toEqual([0])
    }
    // the step ran again (taken over) and published again under the same key: still one event
    const pubLog = await logOf(store, publisher)
    expect(pubLog.some((e) => e.kind === 'step.started' && (e.data as { recovered?: boolean }).recovered)).toBe(true)
    expect(await store.readExternal(BILLED, 0)).toHaveLength(1)
  }, 120_000)

  it('the listening worker SIGKILLed after its await.event was recorded and before it watched the kind: the event resumes it once', async () => {
    const { store, producer, spawn, ready } = setup()
    const doomed = spawn({ KILL: 'beforeWatch:1' })
    await ready([doomed])
    const { runId: listener } = await producer.startFlow('listen', { id: 'o-2' })
    await killed(doomed, 'the kill before the watch')
    expect(await store.kindWatchers(BILLED)).toEqual([])
    await ready([spawn()])
    const { runId: publisher } = await producer.startFlow('pub', { id: 'o-2' })
    expect(await producer.result(publisher, { timeout: '60s' })).toEqual({ s: 'published' })
    expect(await producer.result(listener, { timeout: '60s' })).toEqual({ l: { id: 'o-2' } })
    expect(positions(await logOf(store, listener), 'step.resumed')).toEqual([0])
  }, 120_000)

  it('the publishing worker SIGKILLed right after its match resolved a listener, before queuing its resume: the repeated publish queues it', async () => {
    const { store, producer, spawn, ready } = setup()
    const doomed = spawn({ KILL: 'afterEventResolved:1' })
    await ready([doomed])
    const { runId: listener } = await producer.startFlow('listen', { id: 'o-3' })
    await waitFor(async () => (await store.kindWatchers(BILLED)).includes(listener), 'the listener watching', 30_000)
    const { runId: publisher } = await producer.startFlow('pub', { id: 'o-3' })
    await killed(doomed, 'the kill after the match')
    await ready([spawn()])
    expect(await producer.result(publisher, { timeout: '60s' })).toEqual({ s: 'published' })
    expect(await producer.result(listener, { timeout: '30s' })).toEqual({ l: { id: 'o-3' } })
    expect(positions(await logOf(store, listener), 'step.resumed')).toEqual([0])
  }, 120_000)

  it('the listening worker SIGKILLed right after its own catch-up matched an earlier event, before queuing its resume: its job, delivered again, queues it', async () => {
    const { store, producer, spawn, ready } = setup()
    // the run starts, then the event is published while no worker runs yet: no run watches its kind,
    // so the listener's catch-up read (after its await is written) is what finds it
    const { runId: listener } = await producer.startFlow('listen', { id: 'o-4' })
    await producer.publishEvent({ kind: BILLED, data: { id: 'o-4' } })
    const doomed = spawn({ KILL: 'afterEventResolved:1' })
    await ready([doomed])
    await killed(doomed, 'the kill after the catch-up match', (m) => m.runId === listener)
    await ready([spawn()])
    expect(await producer.result(listener, { timeout: '30s' })).toEqual({ l: { id: 'o-4' } })
    expect(positions(await logOf(store, listener), 'step.resumed')).toEqual([0])
  }, 120_000)

  it('the listening worker SIGKILLed while its suspend was still carried out, after its poll saw the step suspended: its job had not ended, and the event resumes the listener', async () => {
    const { producer, spawn, ready } = setup()
    const doomed = spawn({ KILL: 'holdWatch:1' })
    await ready([doomed])
    const { runId: listener } = await producer.startFlow('listen', { id: 'o-5' })
    await killed(doomed, 'the kill in the held watch')
    await ready([spawn()])
    const { runId: publisher } = await producer.startFlow('pub', { id: 'o-5' })
    expect(await producer.result(publisher, { timeout: '60s' })).toEqual({ s: 'published' })
    expect(await producer.result(listener, { timeout: '30s' })).toEqual({ l: { id: 'o-5' } })
  }, 120_000)
})
