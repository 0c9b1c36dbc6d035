/**
 * Composition across real processes on one real redis-server (design/composition.md, guarantees
 * 1-5): child runs started once per call position through SIGKILLs at the child's start, a
 * child's end resuming its parent once whichever comes first (guarantee 3, the fan-out, and 5,
 * `ctx.publish`, are in compositionFanout.test.ts; guarantee 4, cancel, in compositionCancel.test.ts).
 * Worker processes are `test/workers/composeWorker.ts` on BullMQ (their store proxied to die at a
 * precise point); this process only starts runs (a runner it never starts), cancels and reads.
 */
import { compareEventIds, type EventRecord } from '@leanflow/core'
import type { RedisStreamStore } from '@leanflow/redis'
import { describe, expect, it } from 'vitest'
import { execKey } from '../workers/composeFlows.js'
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
