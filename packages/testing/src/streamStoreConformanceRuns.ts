import { isDeepStrictEqual } from 'node:util'
import type { StreamStore } from '@leanflow/core'
import { compareEventIds, EventBus } from '@leanflow/core'
import { expect } from 'vitest'
import { describe, it } from './internal/kitTest.js'
import { describeCompositionConformance } from './streamStoreConformanceComposition.js'
import {
  type ConformanceContext,
  ev,
  eventually,
  expectCode,
  nextMillisecond,
  show,
  sleep,
  uniqueName,
  within,
} from './streamStoreConformanceKit.js'
import { describeStatusConformance } from './streamStoreConformanceStatus.js'

/** StreamStore conformance: listRuns, listFlows, retention, the bus and close. Registered by `describeStreamStoreConformance`. */
export function describeRunsConformance(t: ConformanceContext): void {
  describe('listRuns and listFlows', () => {
    const start = (s: StreamStore, run: string, flow: string) =>
      s.append(run, { kind: 'flow.started', flow: run, data: { name: flow, input: {}, steps: {} } })

    it('keeps the summary on flow.started and terminal events', async () => {
      const s = await t.store()
      const flow = uniqueName('flow')
      const run = uniqueName()
      const started = await start(s, run, flow)
      expect(await s.listRuns(flow)).toEqual([{ runId: run, flow, status: 'running', startedAt: started.ts }])
      await s.append(run, { kind: 'step.started', flow: run, step: 'a', data: {} })
      expect((await s.listRuns(flow))[0]!.status).toBe('running')
      const done = await s.append(run, { kind: 'flow.completed', flow: run, data: { duration: 3 } })
      expect(await s.listRuns(flow)).toEqual([{ runId: run, flow, status: 'completed', startedAt: started.ts, completedAt: done.ts }])
      for (const [kind, status] of [
        ['flow.failed', 'failed'],
        ['flow.canceled', 'canceled'],
      ] as const) {
        const r = uniqueName()
        await start(s, r, flow)
        const end = await s.append(r, { kind, flow: r, data: kind === 'flow.failed' ? { error: 'x', duration: 1 } : {} })
        const summary = (await s.listRuns(flow)).find((x) => x.runId === r)
        expect(summary).toEqual({ runId: r, flow, status, startedAt: expect.any(String), completedAt: end.ts })
      }
    })

    it('carries the flow version of flow.started (data.version) in the summary, before and after the run ends', async () => {
      const s = await t.store()
      const flow = uniqueName('flow')
      const run = uniqueName()
      await s.append(run, { kind: 'flow.started', flow: run, data: { name: flow, version: 3, input: {}, steps: {} } })
      expect((await s.listRuns(flow))[0]?.version).toBe(3)
      await s.append(run, { kind: 'flow.completed', flow: run, data: { duration: 1 } })
      expect((await s.listRuns(flow))[0]).toMatchObject({ status: 'completed', version: 3 })
      const plain = uniqueName()
      await s.append(plain, { kind: 'flow.started', flow: plain, data: { name: flow, version: 'x', input: {}, steps: {} } })
      expect((await s.listRuns(flow)).find((r) => r.runId === plain)).not.toHaveProperty('version')
    })

    it('lists newest first, with limit, exclusive before, status, and only the flow asked for', async () => {
      const s = await t.store()
      const flow = uniqueName('flow')
      const other = uniqueName('flow')
      const runs: Array<{ run: string; ms: number }> = []
      for (let i = 0; i < 5; i++) {
        const run = uniqueName()
        const rec = await start(s, run, flow)
        runs.push({ run, ms: Date.parse(rec.ts) })
        if (i % 2 === 1) await s.append(run, { kind: 'flow.completed', flow: run, data: { duration: 1 } })
        await nextMillisecond()
      }
      await start(s, uniqueName(), other)
      const newestFirst = [...runs].reverse().map((r) => r.run)
      expect((await s.listRuns(flow)).map((r) => r.runId)).toEqual(newestFirst)
      expect((await s.listRuns(flow, { limit: 2 })).map((r) => r.runId)).toEqual(newestFirst.slice(0, 2))
      expect((await s.listRuns(flow, { before: runs[3]!.ms })).map((r) => r.runId)).toEqual([runs[2]!.run, runs[1]!.run, runs[0]!.run])
      expect((await s.listRuns(flow, { before: runs[3]!.ms, limit: 1 })).map((r) => r.runId)).toEqual([runs[2]!.run])
      expect((await s.listRuns(flow, { status: 'completed' })).map((r) => r.runId)).toEqual([runs[3]!.run, runs[1]!.run])
      expect((await s.listRuns(flow, { status: 'running', limit: 2 })).map((r) => r.runId)).toEqual([runs[4]!.run, runs[2]!.run])
      expect(await s.listRuns(flow, { status: 'failed' })).toEqual([])
      expect((await s.listRuns(other)).length).toBe(1)
      expect(await s.listRuns(uniqueName('flow'))).toEqual([])
    })

    it('lists at most 50 runs by default', async () => {
      const s = await t.store()
      const flow = uniqueName('flow')
      await Promise.all(Array.from({ length: 52 }, () => start(s, uniqueName(), flow)))
      expect(await s.listRuns(flow)).toHaveLength(50)
      expect(await s.listRuns(flow, { limit: 60 })).toHaveLength(52)
    })

    it('refuses a limit below 1, a before that is no finite time and an unknown status with INVALID_ARGUMENT', async () => {
      const s = await t.store()
      const flow = uniqueName('flow')
      for (const limit of [0, -1, 1.5, Number.NaN])
        await expectCode(s.listRuns(flow, { limit }), 'INVALID_ARGUMENT', `listRuns limit ${show(limit)}`)
      for (const before of [Number.NaN, Number.POSITIVE_INFINITY, '5' as never])
        await expectCode(s.listRuns(flow, { before }), 'INVALID_ARGUMENT', `listRuns before ${show(before)}`)
      await expectCode(s.listRuns(flow, { status: 'done' as never }), 'INVALID_ARGUMENT', "listRuns status 'done'")
    })

    it('refuses a flow name that breaks the name rule, or a reserved one (runs, triggers, events, schedules), with INVALID_NAME', async () => {
      const s = await t.store()
      for (const flow of ['no:flow', '', 'runs', 'triggers', 'events', 'schedules']) {
        await expectCode(s.listRuns(flow), 'INVALID_NAME', `listRuns of flow ${show(flow)}`)
        if (s.countRuns) await expectCode(s.countRuns(flow), 'INVALID_NAME', `countRuns of flow ${show(flow)}`)
      }
    })

    it("countRuns (when implemented): a flow's runs counted per status, every status present", async (ctx) => {
      const s = await t.store()
      if (!s.countRuns) return ctx.skip('this store has no countRuns (optional)')
      const flow = uniqueName('flow')
      for (const end of [undefined, undefined, 'flow.completed', 'flow.failed', 'flow.canceled', 'flow.completed'] as const) {
        const run = uniqueName()
        await start(s, run, flow)
        if (end) await s.append(run, { kind: end, flow: run, data: end === 'flow.failed' ? { error: 'no' } : { duration: 1 } })
      }
      await start(s, uniqueName(), uniqueName('flow')) // another flow's run counts there, not here
      const want = { runs: 6, statuses: { pending: 0, queued: 0, running: 2, awaiting: 0, completed: 2, failed: 1, canceled: 1 } }
      // a run's status may be counted under its previous one for a moment
      // (compared as values: the order of the statuses' keys is no part of the answer)
      await eventually(async () => isDeepStrictEqual(await s.countRuns?.(flow), want), 3_000, 'the counts').catch(() => {})
      expect(await s.countRuns(flow)).toEqual(want)
      const none = await s.countRuns(uniqueName('flow'))
      expect(none.runs).toBe(0)
      expect(Object.values(none.statuses).every((n) => n === 0)).toBe(true)
    })

    it('lists flows with their run counts', async () => {
      const s = await t.store()
      const f1 = uniqueName('flow')
      const f2 = uniqueName('flow')
      for (let i = 0; i < 3; i++) await start(s, uniqueName(), f1)
      await start(s, uniqueName(), f2)
      const loose = uniqueName()
      await s.append(loose, ev(loose, 'not.a.flow', 1)) // a run without flow.started is in no flow
      const flows = await s.listFlows()
      expect(flows.find((f) => f.flow === f1)).toEqual({ flow: f1, runs: 3 })
      expect(flows.find((f) => f.flow === f2)).toEqual({ flow: f2, runs: 1 })
    })
  })

  describeStatusConformance(t)
  describeCompositionConformance(t)

  describe('retention', () => {
    it('removes a finished run (events, summary, index entry) and keeps a running one', async () => {
      const s = await t.open({ retention: 300 })
      const flow = uniqueName('flow')
      const running = uniqueName()
      const finished = uniqueName()
      await s.append(running, { kind: 'flow.started', flow: running, data: { name: flow, input: null, steps: {} } })
      await s.append(finished, { kind: 'flow.started', flow: finished, data: { name: flow, input: null, steps: {} } })
      await s.append(finished, ev(finished, 'log', { level: 'info', msg: 'x' }))
      await s.append(finished, { kind: 'flow.completed', flow: finished, data: { duration: 1 } })
      expect((await s.listRuns(flow)).length).toBe(2)
      await eventually(async () => (await s.read(finished)).length === 0, 5000, 'finished run expired')
      await eventually(async () => (await s.listRuns(flow)).length === 1, 5000, 'index entry expired')
      expect((await s.listRuns(flow)).map((r) => r.runId)).toEqual([running])
      expect((await s.listFlows()).find((f) => f.flow === flow)).toEqual({ flow, runs: 1 })
      expect((await s.read(running)).length).toBe(1)
    })

    it('takes a retention with a fraction of a millisecond: the run ends whole and then expires', async () => {
      const s = await t.open({ retention: 300.5 })
      const flow = uniqueName('flow')
      const run = uniqueName()
      await s.append(run, { kind: 'flow.started', flow: run, data: { name: flow, input: null, steps: {} } })
      await s.append(run, { kind: 'flow.completed', flow: run, data: { duration: 1 } })
      expect((await s.listRuns(flow)).map((r) => r.status)).toEqual(['completed'])
      expect((await s.read(run)).map((e) => e.kind)).toEqual(['flow.started', 'flow.completed'])
      await eventually(async () => (await s.read(run)).length === 0, 5000, 'finished run expired')
    })

    it('forgets a finished run with its idempotency keys: its id and keys start from scratch', async () => {
      const s = await t.open({ retention: 300 })
      const flow = uniqueName('flow')
      const run = uniqueName()
      const first = await s.append(
        run,
        { kind: 'flow.started', flow: run, data: { name: flow, input: 1, steps: {} } },
        { idempotencyKey: 'start' },
      )
      await s.append(run, ev(run, 'note', 'old'), { idempotencyKey: 'note' })
      await s.append(run, { kind: 'flow.completed', flow: run, data: { duration: 1 } })
      await eventually(async () => (await s.read(run)).length === 0, 5000, 'finished run expired')
      await eventually(async () => (await s.listRuns(flow)).length === 0, 5000, 'index entry expired')
      const again = await s.append(
        run,
        { kind: 'flow.started', flow: run, data: { name: flow, input: 2, steps: {} } },
        { idempotencyKey: 'start' },
      )
      const note = await s.append(run, ev(run, 'note', 'new'), { idempotencyKey: 'note' })
      expect(again.data).toEqual({ name: flow, input: 2, steps: {} })
      expect(note.data).toBe('new')
      expect(compareEventIds(again.id, first.id)).toBeGreaterThan(0)
      expect((await s.read(run)).map((e) => e.data)).toEqual([{ name: flow, input: 2, steps: {} }, 'new'])
      expect((await s.listRuns(flow)).map((r) => [r.runId, r.status, r.completedAt])).toEqual([[run, 'running', undefined]])
    })
  })

  describe('bus', () => {
    it('publishes every appended record, with its id, on the bus', async () => {
      const bus = new EventBus()
      const s = await t.open({ bus })
      const run = uniqueName()
      const byKind: unknown[] = []
      const any: unknown[] = []
      const off1 = bus.onKind('user.ping', (e) => void byKind.push(e))
      const off2 = bus.onAny((e) => void any.push(e))
      const a = await s.append(run, ev(run, 'user.ping', { n: 1 }))
      const b = await s.append(run, ev(run, 'user.pong', { n: 2 }, 'st'))
      const dup = await s.append(run, ev(run, 'user.ping', { n: 3 }), { idempotencyKey: 'k' })
      await s.append(run, ev(run, 'user.ping', { n: 4 }), { idempotencyKey: 'k' }) // a repeat publishes nothing
      await eventually(async () => any.length >= 3, 5000, 'bus delivery')
      await sleep(50)
      off1()
      off2()
      expect(byKind).toEqual([a, dup])
      expect(any).toEqual([a, b, dup])
    })
  })

  describe('close', () => {
    it('resolves and ends open follow iterations', async () => {
      const s = await t.open()
      const run = uniqueName()
      await s.append(run, ev(run, 'e', 0))
      const seen: unknown[] = []
      const done = (async () => {
        for await (const e of s.follow(run)) seen.push(e.data)
        return 'ended'
      })()
      await eventually(async () => seen.length === 1, 5000, 'first event')
      t.forget(s)
      await within(s.close(), 5000, 'close')
      expect(await within(done, 5000, 'follow after close')).toBe('ended')
    })

    it('ends a follow reading older events for a slow consumer: nothing more once close() resolved', async () => {
      const s = await t.open()
      const run = uniqueName()
      const items = Array.from({ length: 1500 }, (_, i) => ({ event: ev(run, 'e', i) }))
      if (s.appendMany) await s.appendMany(run, items)
      else for (const { event } of items) await s.append(run, event)
      const it = s.follow(run)[Symbol.asyncIterator]()
      for (let i = 0; i < 10; i++) await it.next()
      t.forget(s)
      await within(s.close(), 5000, 'close')
      let after = 0
      for (let r = await it.next(); !r.done && after < 2000; r = await it.next()) after++
      expect(after, 'events a follow yielded after close() resolved').toBe(0)
    })

    it('a follow started after close ends at once, without throwing (from the start or from an id)', async () => {
      const s = await t.open()
      const run = uniqueName()
      const first = await s.append(run, ev(run, 'e', 0))
      t.forget(s)
      await within(s.close(), 5000, 'close')
      for (const opts of [{}, { after: first.id }]) {
        const seen: unknown[] = []
        const drain = async () => {
          for await (const e of s.follow(run, opts)) seen.push(e.data)
        }
        await within(drain(), 5000, `a follow (${JSON.stringify(opts)}) started after close`)
        expect(seen).toEqual([])
      }
    })

    it('refuses appends, reads and listings after close with STORE_UNAVAILABLE', async () => {
      const s = await t.open()
      const run = uniqueName()
      const flow = uniqueName('f')
      await s.append(run, ev(run, 'flow.started', { name: flow, input: null, steps: {} }))
      t.forget(s)
      await within(s.close(), 5000, 'close')
      await expectCode(s.append(run, ev(run, 'late', 1)), 'STORE_UNAVAILABLE', 'append after close()', 'state')
      const other = uniqueName()
      await expectCode(
        s.append(other, ev(other, 'late', 1), { idempotencyKey: 'k' }),
        'STORE_UNAVAILABLE',
        'append with an idempotency key to a new run after close()',
        'state',
      )
      await expectCode(s.read(run), 'STORE_UNAVAILABLE', 'read after close()', 'state')
      await expectCode(s.listRuns(flow), 'STORE_UNAVAILABLE', 'listRuns after close()', 'state')
      await expectCode(s.listFlows(), 'STORE_UNAVAILABLE', 'listFlows after close()', 'state')
      await within(s.close(), 5000, 'a second close') // resolves again
    })
  })
}
