// StreamStore conformance: every status the reducer gives a started run is indexed, and
// listRuns({ status }) agrees with reduceFlow over the run's log. Registered by describeRunsConformance.
import type { NewEvent, RunStatus, StreamStore } from '@leanflow/core'
import { reduceFlow } from '@leanflow/core'
import { expect } from 'vitest'
import { describe, it } from './internal/kitTest.js'
import { type ConformanceContext, expectCode, prng, uniqueName } from './streamStoreConformanceKit.js'

const INDEXED: RunStatus[] = ['queued', 'running', 'awaiting', 'completed', 'failed', 'canceled']

const started = (run: string, flow: string): NewEvent => ({
  kind: 'flow.started',
  flow: run,
  data: { name: flow, input: {}, steps: { a: { needs: [] }, b: { needs: [] } } },
})
const step = (run: string, kind: string, name: string, data: unknown = {}): NewEvent => ({ kind, flow: run, step: name, data })

/** Asserts the run is listed under `expected` and under no other status, with that status in its summary. */
async function expectListed(s: StreamStore, flow: string, run: string, expected: RunStatus, why: string): Promise<void> {
  const reduced = reduceFlow(await s.read(run)).status
  expect(reduced, `the reducer after ${why}`).toBe(expected)
  for (const status of INDEXED) {
    const ids = (await s.listRuns(flow, { status })).map((r) => r.runId)
    expect(ids, `listRuns({ status: '${status}' }) after ${why}`).toEqual(status === expected ? [run] : [])
  }
  expect((await s.listRuns(flow)).map((r) => [r.runId, r.status])).toEqual([[run, expected]])
}

export function describeStatusConformance(t: ConformanceContext): void {
  describe('listRuns by status (every status of a started run)', () => {
    it('a run moves running → awaiting → running → completed, listed under each status exactly while it has it', async () => {
      const s = await t.store()
      const flow = uniqueName('flow')
      const run = uniqueName()
      const go = async (e: NewEvent, expected: RunStatus, why: string) => {
        await s.append(run, e)
        await expectListed(s, flow, run, expected, why)
      }
      expect(await s.listRuns(flow, { status: 'pending' })).toEqual([])
      await expectCode(s.listRuns('no:flow', { status: 'pending' }), 'INVALID_NAME', "listRuns of flow 'no:flow' with a status")
      await go(started(run, flow), 'running', 'flow.started')
      await go(step(run, 'step.started', 'a'), 'running', 'a started')
      await go(step(run, 'step.await.trigger', 'a', { triggerId: 't1', triggerType: 'webhook' }), 'awaiting', 'a awaits a trigger')
      await go(step(run, 'step.resumed', 'a', { reason: 'trigger', awaitType: 'trigger', awaitDuration: 5 }), 'running', 'a resumed')
      await go(step(run, 'step.await.time', 'a', { resumeAt: new Date().toISOString() }), 'awaiting', 'a awaits a timer')
      await go(step(run, 'step.started', 'b'), 'running', 'b started while a awaits')
      await go(
        step(run, 'step.failed', 'b', { error: 'x', willRetry: true }),
        'running',
        'b failed and retries (retrying counts as running)',
      )
      await go(step(run, 'step.retry', 'b', { reason: 'x', delayMs: 10 }), 'running', 'b retry')
      await go(step(run, 'step.completed', 'b', { duration: 1 }), 'awaiting', 'b completed while a awaits')
      await go(step(run, 'log', 'a', { level: 'info', msg: 'no change' }), 'awaiting', 'a log of an awaiting step')
      await go(step(run, 'step.await.timeout', 'a', { awaitType: 'time', timeoutAt: new Date().toISOString() }), 'running', 'a timed out')
      await go(step(run, 'step.await.event', 'a', { eventKind: 'pay.ok' }), 'awaiting', 'a awaits an event')
      await go(step(run, 'step.started', 'a', { recovered: true }), 'running', 'a taken over')
      await go(step(run, 'step.completed', 'a', { duration: 1 }), 'running', 'every step done, the run not ended')
      await go({ kind: 'flow.completed', flow: run, data: { duration: 9 } }, 'completed', 'flow.completed')
      await go(step(run, 'step.started', 'a'), 'completed', 'a late step.started (a terminal status sticks)')
      await go({ kind: 'flow.failed', flow: run, data: { error: 'late', duration: 1 } }, 'completed', 'a second terminal event')
    })

    it('a queued run is listed as queued from flow.queued to its first step.started (flow.debounced, step.queued keep it)', async () => {
      const s = await t.store()
      const flow = uniqueName('flow')
      const run = uniqueName()
      const go = async (e: NewEvent, expected: RunStatus, why: string) => {
        await s.append(run, e)
        await expectListed(s, flow, run, expected, why)
      }
      const until = new Date(Date.now() + 60_000).toISOString()
      await go(started(run, flow), 'running', 'flow.started')
      await go({ kind: 'flow.queued', flow: run, data: { reason: 'debounce', key: 'user-1', until } }, 'queued', 'flow.queued')
      await go({ kind: 'flow.debounced', flow: run, data: { input: { n: 2 }, until } }, 'queued', 'flow.debounced')
      await go({ kind: 'flow.queued', flow: run, data: { reason: 'concurrency', key: 'tenant-1' } }, 'queued', 'a second flow.queued')
      await go(step(run, 'step.queued', 'a', { reason: 'concurrency' }), 'queued', 'a waits for a step slot')
      await go(step(run, 'log', 'a', { level: 'info', msg: 'no change' }), 'queued', 'a log')
      await go(step(run, 'step.started', 'a'), 'running', 'a started (the run is admitted)')
      await go(step(run, 'step.await.trigger', 'a', { triggerId: 't1', triggerType: 'webhook' }), 'awaiting', 'a awaits')
      await go(step(run, 'step.queued', 'b', { reason: 'concurrency', key: 'api' }), 'running', 'b queued (live work) while a awaits')
      await go(step(run, 'step.started', 'b'), 'running', 'b started')
      await go(step(run, 'step.completed', 'b', { duration: 1 }), 'awaiting', 'b completed while a awaits')
      await go({ kind: 'flow.queued', flow: run, data: { reason: 'rateLimit', until } }, 'queued', 'queued again')
      await go(
        step(run, 'step.resumed', 'a', { reason: 'trigger', awaitType: 'trigger', awaitDuration: 5 }),
        'queued',
        'a resumed while queued',
      )
      await go(step(run, 'step.started', 'a', { recovered: true }), 'running', 'a step.started of a step already running')
      await go({ kind: 'flow.queued', flow: run, data: { reason: 'concurrency' } }, 'queued', 'queued once more')
      await go({ kind: 'flow.canceled', flow: run, data: { reason: 'user' } }, 'canceled', 'canceled while queued')
      await go(
        { kind: 'flow.queued', flow: run, data: { reason: 'concurrency' } },
        'canceled',
        'a late flow.queued (a terminal status sticks)',
      )
      await go(step(run, 'step.started', 'a'), 'canceled', 'a late step.started')
      // a flow.queued before flow.started lists nothing (a listed run has started), and flow.started is still the start
      const early = uniqueName()
      await s.append(early, { kind: 'flow.queued', flow: early, data: { reason: 'concurrency' } })
      expect(await s.listRuns(flow, { status: 'queued' })).toEqual([])
      await s.append(early, started(early, flow))
      expect((await s.listRuns(flow, { status: 'running' })).map((r) => r.runId)).toEqual([early])
    })

    it('an awaiting run that is canceled is listed as canceled only', async () => {
      const s = await t.store()
      const flow = uniqueName('flow')
      const run = uniqueName()
      await s.append(run, started(run, flow))
      await s.append(run, step(run, 'step.await.trigger', 'a', { triggerId: 't', triggerType: 'user' }))
      await expectListed(s, flow, run, 'awaiting', 'a awaits')
      await s.append(run, { kind: 'flow.canceled', flow: run, data: { reason: 'user' } })
      await expectListed(s, flow, run, 'canceled', 'flow.canceled')
      await s.append(run, step(run, 'step.failed', 'a', { error: 'late', willRetry: false }))
      await expectListed(s, flow, run, 'canceled', 'a late step.failed')
    })

    it('user kinds named like Object.prototype members (constructor, toString, …) leave the status alone', async () => {
      const s = await t.store()
      const flow = uniqueName('flow')
      const run = uniqueName()
      await s.append(run, started(run, flow))
      for (const kind of ['constructor', 'toString', 'hasOwnProperty', 'valueOf']) {
        await s.append(run, { kind, flow: run, data: null })
        await s.append(run, step(run, kind, 'a'))
      }
      await expectListed(s, flow, run, 'running', 'user kinds named like Object members')
    })

    it('random step sequences: the listed status always equals reduceFlow of the log', async () => {
      const s = await t.store()
      const kinds = [
        'step.started',
        'step.completed',
        'step.failed',
        'step.retry',
        'step.await.time',
        'step.resumed',
        'step.await.timeout',
        'step.queued',
        'flow.queued',
        'flow.debounced',
      ]
      for (let seed = 1; seed <= 12; seed++) {
        const rnd = prng(seed)
        const flow = uniqueName('flow')
        const run = uniqueName()
        await s.append(run, started(run, flow))
        for (let i = 0; i < 14; i++) {
          const kind = kinds[Math.floor(rnd() * kinds.length)]!
          const name = ['a', 'b', 'c'][Math.floor(rnd() * 3)]!
          const data =
            kind === 'step.failed' ? { error: 'e', willRetry: rnd() < 0.5 } : kind.endsWith('queued') ? { reason: 'concurrency' } : {}
          // run-level kinds without a step, now and then with one (the step field changes nothing then)
          const e = kind.startsWith('flow.') && rnd() < 0.8 ? { kind, flow: run, data } : step(run, kind, name, data)
          await s.append(run, e)
          const want = reduceFlow(await s.read(run)).status
          const got = await s.listRuns(flow, { status: want })
          expect(
            got.map((r) => [r.runId, r.status]),
            `seed ${seed}, event ${i} (${kind} ${name})`,
          ).toEqual([[run, want]])
        }
      }
    })

    it('pages with status and before, newest first', async () => {
      const s = await t.store()
      const flow = uniqueName('flow')
      const runs: Array<{ run: string; ms: number; awaiting: boolean }> = []
      for (let i = 0; i < 7; i++) {
        const run = uniqueName()
        const rec = await s.append(run, started(run, flow))
        const awaiting = i !== 1 && i !== 4
        if (awaiting) await s.append(run, step(run, 'step.await.time', 'a', { resumeAt: rec.ts }))
        runs.push({ run, ms: Date.parse(rec.ts), awaiting })
      }
      const want = byNewest(runs.filter((r) => r.awaiting))
      const page1 = await s.listRuns(flow, { status: 'awaiting', limit: 2 })
      expect(page1.map((r) => r.runId)).toEqual(want.slice(0, 2).map((r) => r.run))
      expect(page1.every((r) => r.status === 'awaiting' && r.flow === flow)).toBe(true)
      // the documented paging: the last run's start as the next `before` (runs of that same ms are skipped)
      const before = Date.parse(page1[1]!.startedAt)
      const rest = want.filter((r) => r.ms < before).map((r) => r.run)
      expect((await s.listRuns(flow, { status: 'awaiting', before })).map((r) => r.runId)).toEqual(rest)
      expect((await s.listRuns(flow, { status: 'awaiting', before, limit: 1 })).map((r) => r.runId)).toEqual(rest.slice(0, 1))
      expect(await s.listRuns(flow, { status: 'awaiting', before: want.at(-1)!.ms })).toEqual([])
      expect((await s.listRuns(flow, { status: 'running' })).map((r) => r.runId)).toEqual(
        byNewest(runs.filter((r) => !r.awaiting)).map((r) => r.run),
      )
    })

    it('a status filter over a flow with many runs of other statuses returns the right page', async () => {
      const s = await t.store()
      const flow = uniqueName('flow')
      const runs: Array<{ run: string; ms: number; status: RunStatus }> = []
      for (let i = 0; i < 120; i++) {
        const run = uniqueName()
        const rec = await s.append(run, started(run, flow))
        const status: RunStatus = i % 12 === 5 ? 'awaiting' : i % 40 === 7 ? 'running' : 'completed'
        if (status === 'awaiting') await s.append(run, step(run, 'step.await.trigger', 'a', { triggerId: `t${i}`, triggerType: 'user' }))
        if (status === 'completed') await s.append(run, { kind: 'flow.completed', flow: run, data: { duration: 1 } })
        runs.push({ run, ms: Date.parse(rec.ts), status })
      }
      const awaiting = byNewest(runs.filter((r) => r.status === 'awaiting')).map((r) => r.run)
      expect(awaiting).toHaveLength(10)
      expect((await s.listRuns(flow, { status: 'awaiting', limit: 3 })).map((r) => r.runId)).toEqual(awaiting.slice(0, 3))
      expect((await s.listRuns(flow, { status: 'awaiting' })).map((r) => r.runId)).toEqual(awaiting)
      expect((await s.listRuns(flow, { status: 'running' })).map((r) => r.runId)).toEqual(
        byNewest(runs.filter((r) => r.status === 'running')).map((r) => r.run),
      )
      expect(await s.listRuns(flow, { status: 'failed' })).toEqual([])
      expect((await s.listRuns(flow, { status: 'completed', limit: 200 })).length).toBe(120 - 10 - 3)
    })
  })

  // optional in StreamStore: checked on a store that has it
  describe('runEnd (where a run ended, from its summary)', () => {
    it('undefined for an unknown run and while the run goes on; then its first terminal event, whatever follows', async (ctx) => {
      const s = await t.store()
      if (!s.runEnd) return ctx.skip('this store has no runEnd (optional)')
      const run = uniqueName()
      expect(await s.runEnd(uniqueName())).toBeUndefined()
      await s.append(run, started(run, uniqueName('flow')))
      await s.append(run, step(run, 'step.started', 'a'))
      expect(await s.runEnd(run)).toBeUndefined()
      const end = await s.append(run, { kind: 'flow.canceled', flow: run, data: { reason: 'by hand' } })
      // a step that completed after the cancel, a second end, many more: the run ended at the first
      await s.append(run, step(run, 'step.completed', 'a', { duration: 1 }))
      await s.append(run, { kind: 'flow.completed', flow: run, data: { duration: 9 } })
      for (let i = 0; i < 20; i++) await s.append(run, step(run, 'log', 'a', { level: 'info', msg: `later ${i}` }))
      expect(await s.runEnd(run)).toEqual({ id: end.id, kind: 'flow.canceled' })
      await expectCode(s.runEnd(''), 'INVALID_NAME', "runEnd of run id ''")
    })

    it('set by appendMany, and for a run without flow.started', async (ctx) => {
      const s = await t.store()
      if (!s.runEnd || !s.appendMany) return ctx.skip('this store has no runEnd, or no appendMany (both optional)')
      const run = uniqueName()
      const [, failed] = await s.appendMany(run, [
        { event: started(run, uniqueName('flow')) },
        { event: { kind: 'flow.failed', flow: run, data: { error: 'no' } } },
        { event: step(run, 'log', 'a', { level: 'info', msg: 'late' }) },
      ])
      expect(await s.runEnd(run)).toEqual({ id: failed?.id, kind: 'flow.failed' })
      const bare = uniqueName()
      const done = await s.append(bare, { kind: 'flow.completed', flow: bare, data: { duration: 1 } })
      expect(await s.runEnd(bare)).toEqual({ id: done.id, kind: 'flow.completed' })
    })
  })
}

/** Newest first, as listRuns orders (start ms, then run id, both descending). */
function byNewest<T extends { run: string; ms: number }>(runs: T[]): T[] {
  return [...runs].sort((a, b) => b.ms - a.ms || (a.run < b.run ? 1 : a.run > b.run ? -1 : 0))
}
