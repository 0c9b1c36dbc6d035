/**
 * Composition across real processes on one real redis-server (design/composition.md, guarantees
 * 1-5): child runs started once per call position through SIGKILLs at the child's start, a
 * child's end resuming its parent once whichever comes first, a 1,000-way fan-out on 3 workers,
 * `ctx.publish` reaching another run once through a SIGKILL (guarantee 4, cancel, is in compositionCancel.test.ts).
 * Worker processes are `test/workers/composeWorker.ts` on BullMQ (their store proxied to die at a
 * precise point); this process only starts runs (a runner it never starts), cancels and reads.
 */
import { compareEventIds, type EventRecord } from '@leanflow/core'
import type { RedisStreamStore } from '@leanflow/redis'
import { describe, expect, it } from 'vitest'
import { waitFor } from '../helpers/waitFor.js'
import { BILLED, execKey } from '../workers/composeFlows.js'
import {
  killed,
  lastOf,
  logOf,
  parentOf,
  positionOf,
  positions,
  range,
  resultsOf,
  resumeGaps,
  runsOf,
  sleep,
  useComposeFleet,
} from './composeFleet.js'

const { redis, setup } = useComposeFleet()

describe('guarantee 1 (F24): a child is started once per call position', () => {
  it.each([
    ['beforeChildCreate', 1, 10],
    ['afterChildCreate', 1, 10],
    ['beforeChildCreate', 3, 1],
    ['afterChildCreate', 3, 1],
  ] as const)(
    'the worker SIGKILLed at %s #%i (%i parents of 3 invokes): one child per position, every parent completes',
    async (point, nth, parents) => {
      const { id, store, producer, spawn, ready } = setup()
      const doomed = spawn({ KILL: `${point}:${nth}` })
      await ready([doomed])
      const runIds: string[] = []
      for (let i = 0; i < parents; i++) runIds.push((await producer.startFlow('pair', { ns: id, n: i * 10 })).runId)
      const cut = await killed(doomed, 'the kill point')
      const cutChild = cut.runId as string
      const atKill = (await runsOf(store, 'leaf')).map((r) => r.runId)
      if (point === 'beforeChildCreate') {
        // the parent's await is recorded, the child does not exist
        expect(atKill).not.toContain(cutChild)
        if (nth === 1) expect(atKill).toEqual([])
      } else {
        // the child exists, nothing of it ran: its first job was never queued
        expect(atKill).toContain(cutChild)
        expect((await logOf(store, cutChild)).map((e) => e.kind)).toEqual(['flow.started'])
      }
      const healthy = [spawn(), spawn()]
      await ready(healthy)
      const results = await resultsOf(producer, store, runIds, 60_000)
      expect(results).toEqual(runIds.map((_, i) => ({ call: 30 * (i * 10) + 30 })))
      // the cut-off child is the one its parent recorded (started again under the same run id, not a new one)
      const leaves = await runsOf(store, 'leaf')
      expect(leaves).toHaveLength(3 * parents)
      expect(leaves.map((r) => r.runId)).toContain(cutChild)
      const byParent = new Map<string, string[]>()
      for (const leaf of leaves) {
        expect(leaf.status).toBe('completed')
        const parent = (await parentOf(store, leaf.runId))?.runId as string
        byParent.set(parent, [...(byParent.get(parent) ?? []), leaf.runId])
      }
      const gaps: Record<string, unknown> = {}
      for (const runId of runIds) {
        const log = await logOf(store, runId)
        const awaited = log.filter((e) => e.kind === 'step.await.run')
        expect(awaited.map(positionOf).sort()).toEqual([0, 1, 2])
        const recorded = awaited.map((e) => (e.data as { childRunId: string }).childRunId)
        expect(new Set(recorded).size).toBe(3)
        expect([...(byParent.get(runId) ?? [])].sort()).toEqual([...recorded].sort())
        const g = resumeGaps(log)
        if (g.missing.length + g.repeated.length > 0) gaps[runId] = g
      }
      // each child's end is logged at its position as the parent's step.resumed, once
      expect(gaps, 'parents whose log lacks or repeats a step.resumed').toEqual({})
    },
    120_000,
  )
})

describe('guarantee 1: a child cut off is started again by the job that recorded it', () => {
  // the resume's replay is no take-over and announces nothing again: the step job, delivered again, finds
  // the await its execution recorded still pending in a step another job holds and announces it again
  it('the worker SIGKILLed after one of two children was created (no job queued), once the other’s end resumed the parent and it suspended again: the parent completes', async () => {
    const { id, store, producer, spawn, ready } = setup()
    const doomed = spawn({ KILL: 'afterChildCreateHeld:1' })
    await ready([doomed])
    const { runId } = await producer.startFlow('pair', { ns: id, n: 0 })
    const cut = await killed(doomed, 'the kill point')
    expect((await logOf(store, cut.runId as string)).map((e) => e.kind)).toEqual(['flow.started'])
    expect(positions(await logOf(store, runId), 'step.resumed')).toEqual([1])
    await ready([spawn(), spawn()])
    expect(await resultsOf(producer, store, [runId], 20_000)).toEqual([{ call: 30 }])
  }, 90_000)
})

describe('guarantee 2: a child’s end resumes its parent exactly once', () => {
  /** Each `early` parent: completed with 30, one step.resumed per awaited position, its children on either side of the suspend. */
  async function checkEarly(store: RedisStreamStore, runIds: string[]) {
    const leaves = await runsOf(store, 'leaf')
    expect(leaves).toHaveLength(2 * runIds.length)
    for (const runId of runIds) {
      const log = await logOf(store, runId)
      expect(log.at(-1)?.kind).toBe('flow.completed')
      expect(log.at(-1)?.data).toMatchObject({ result: { s: 30 } })
      expect(positions(log, 'step.await.run')).toEqual([0, 3])
      expect(resumeGaps(log), `step.resumed of ${runId}`).toEqual({ missing: [], repeated: [] })
      const child = (pos: number) =>
        (log.find((e) => e.kind === 'step.await.run' && positionOf(e) === pos)?.data as { childRunId: string } | undefined)?.childRunId ??
        ''
      const resumed = (pos: number) => log.find((e) => e.kind === 'step.resumed' && positionOf(e) === pos) as EventRecord
      const [fastEnd, lateStart] = await Promise.all([lastOf(store, child(0)), store.read(child(3), { limit: 1 })])
      // the first child ended before its parent suspended on it (the parent's do waited for it)…
      expect(fastEnd?.kind).toBe('flow.completed')
      expect(compareEventIds(resumed(0).id, resumed(3).id)).toBeLessThan(0)
      expect(Date.parse(fastEnd?.ts ?? '')).toBeLessThanOrEqual(Date.parse(resumed(0).ts))
      // …the second started only once the parent's suspend was written (after the first ended: the
      // do waited for it), and before its announcement (a reader of the parent's log finds it)
      const announced = log.find((e) => e.kind === 'step.await.run' && positionOf(e) === 3) as EventRecord
      expect(Date.parse(lateStart[0]?.ts ?? '')).toBeGreaterThanOrEqual(Date.parse(fastEnd?.ts ?? ''))
      expect(Date.parse(lateStart[0]?.ts ?? '')).toBeLessThanOrEqual(Date.parse(announced.ts))
    }
  }

  // a parent holds its worker slot while it waits for its first child: fewer parents than slots (3 × 20)
  const wide = { CONCURRENCY: '20' }

  it('20 parents on 3 workers, each with a child ending before it suspends and one ending after: one resume each, 2 executions per parent', async () => {
    const { id, store, producer, spawn, ready } = setup()
    await ready([spawn(wide), spawn(wide), spawn(wide)])
    const runIds = await Promise.all(range(20).map(async () => (await producer.startFlow('early', { ns: id })).runId))
    const results = await resultsOf(producer, store, runIds, 60_000)
    expect(results).toEqual(runIds.map(() => ({ s: 30 })))
    await checkEarly(store, runIds)
    // the first run, and one resume by the second child: the first child's end woke nothing (it was settled at the suspend)
    const execs = await Promise.all(runIds.map((r) => redis.client.get(execKey(id, r))))
    expect(execs).toEqual(runIds.map(() => '2'))
  }, 120_000)

  // deterministic form of a failure the kills above found now and then: the await resolved while
  // the step ran, the execution's suspend handed it over and was cut off before its step.resumed
  it('the worker SIGKILLed before the step.resumed of an await that resolved while its step ran: the takeover writes it, once', async () => {
    const { id, store, producer, spawn, ready } = setup()
    const doomed = spawn({ ...wide, KILL: 'beforeResumed:1' })
    await ready([doomed])
    const { runId } = await producer.startFlow('early', { ns: id })
    const cut = await killed(doomed, 'the kill point')
    expect(cut).toMatchObject({ runId, position: 0 })
    expect(positions(await logOf(store, runId), 'step.resumed')).toEqual([])
    await ready([spawn(wide)])
    expect(await resultsOf(producer, store, [runId], 30_000)).toEqual([{ s: 30 }])
    await checkEarly(store, [runId])
  }, 90_000)

  // the outbox of child outcomes: the end that must fold it dies before (or while) folding
  for (const point of ['afterOutcomePut:1', 'afterOutcomeTake:1', 'afterOutcomeTake:2']) {
    it(`the worker SIGKILLed at ${point} (a parent of 3 invokes): the outcomes in the outbox reach the parent, one resume per position`, async () => {
      const { id, store, producer, spawn, ready } = setup()
      const doomed = spawn({ ...wide, KILL: point })
      await ready([doomed])
      const { runId } = await producer.startFlow('fan', { ns: id, k: 3 })
      const cut = await killed(doomed, 'the kill point')
      expect(cut).toMatchObject({ runId })
      await ready([spawn(wide)])
      expect(await resultsOf(producer, store, [runId], 30_000)).toEqual([{ all: { count: 3, sum: 30 } }])
      const log = await logOf(store, runId)
      expect(positions(log, 'step.resumed').sort()).toEqual([0, 1, 2])
      expect(await runsOf(store, 'leaf')).toHaveLength(3)
    }, 90_000)
  }

  it('the same with a worker SIGKILLed every 700 ms for 5 s: still one step.resumed per position, one child per position', async () => {
    const { id, store, producer, spawn, ready } = setup()
    const pool = [spawn(wide), spawn(wide), spawn(wide)]
    await ready(pool)
    const runIds = await Promise.all(range(20).map(async () => (await producer.startFlow('early', { ns: id })).runId))
    for (let k = 0; k < 7; k++) {
      await sleep(700)
      const i = k % pool.length
      pool[i]?.kill('SIGKILL')
      await pool[i]?.exited
      pool[i] = spawn(wide)
    }
    await ready(pool)
    const results = await resultsOf(producer, store, runIds, 90_000)
    expect(results).toEqual(runIds.map(() => ({ s: 30 })))
    await checkEarly(store, runIds)
  }, 150_000)
})

/**
 * The fan-out's width: the design's 1,000 (`COMPOSE_FANOUT` to change it). About 2.5-3.5 s on the
 * reference machine with other work running (3 workers of concurrency 10): each child's end goes
 * to its parent's outbox, and one fold at a time writes them into the parent's document (some
 * 190 KB at 1,000 awaits); 5-8 s when every process wrote its batches of ends itself, 52-84 s
 * when each child's end wrote it alone.
 */
const FANOUT = Number(process.env.COMPOSE_FANOUT ?? 1000)

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
