// StreamStore conformance: child runs and parallel awaits in the run index. A summary shows
// `parent` (from flow.started's data.parent) and `children` (its step.await.run events), and a
// step with several awaits pending (data.position) keeps its run listed as awaiting while any
// is left, as reduceFlow gives it. Registered by describeRunsConformance.
import type { NewEvent, RunStatus, StreamStore } from '@leanflow/core'
import { reduceFlow } from '@leanflow/core'
import { expect } from 'vitest'
import { describe, it } from './internal/kitTest.js'
import { type ConformanceContext, prng, uniqueName } from './streamStoreConformanceKit.js'

const started = (run: string, flow: string, extra: Record<string, unknown> = {}): NewEvent => ({
  kind: 'flow.started',
  flow: run,
  data: { name: flow, input: {}, steps: { a: { needs: [] }, b: { needs: [] } }, ...extra },
})
const step = (run: string, kind: string, name: string, data: Record<string, unknown>): NewEvent => ({ kind, flow: run, step: name, data })
const invoke = (run: string, child: string, position?: number): NewEvent =>
  step(
    run,
    'step.await.run',
    'a',
    position === undefined ? { childRunId: child, flow: 'child' } : { childRunId: child, flow: 'child', position },
  )
const resumed = (run: string, position?: number): NewEvent =>
  step(run, 'step.resumed', 'a', {
    reason: 'child run ended',
    awaitType: 'run',
    awaitDuration: 1,
    ...(position === undefined ? {} : { position }),
  })

/** The run's status from reduceFlow, and the run listed under it (and its summary with it). */
async function expectAgrees(s: StreamStore, flow: string, run: string, expected: RunStatus, why: string): Promise<void> {
  const reduced = reduceFlow(await s.read(run)).status
  expect(reduced, `the reducer after ${why}`).toBe(expected)
  expect(
    (await s.listRuns(flow, { status: expected })).map((r) => [r.runId, r.status]),
    `listRuns({ status: '${expected}' }) after ${why}`,
  ).toEqual([[run, expected]])
  expect(
    (await s.listRuns(flow)).map((r) => r.status),
    `listRuns() after ${why}`,
  ).toEqual([expected])
}

export function describeCompositionConformance(t: ConformanceContext): void {
  describe('listRuns: child runs (parent, children) and parallel awaits', () => {
    it("a parent's summary counts its children; a child's summary names its parent run and step", async () => {
      const s = await t.store()
      const parentFlow = uniqueName('flow')
      const childFlow = uniqueName('flow')
      const parent = uniqueName()
      const kids = [uniqueName(), uniqueName(), uniqueName()]
      const p = await s.append(parent, started(parent, parentFlow))
      expect((await s.listRuns(parentFlow))[0]).not.toHaveProperty('children')
      await s.append(parent, step(parent, 'step.started', 'a', {}))
      for (const [i, kid] of kids.entries()) {
        await s.append(parent, invoke(parent, kid, i), { idempotencyKey: `sa~a~${i}` })
        // the child's flow.started carries the parent; its input may hold a "parent" of its own
        await s.append(
          kid,
          started(kid, childFlow, { input: { parent: { runId: 'not-this', step: 'x' } }, parent: { runId: parent, step: 'a' } }),
        )
      }
      // a repeated append (same idempotency key) is no new child
      await s.append(parent, invoke(parent, kids[0]!, 0), { idempotencyKey: 'sa~a~0' })
      expect(await s.listRuns(parentFlow)).toEqual([{ runId: parent, flow: parentFlow, status: 'awaiting', startedAt: p.ts, children: 3 }])
      const children = await s.listRuns(childFlow)
      expect(children.map((c) => c.runId).sort()).toEqual([...kids].sort())
      for (const c of children) {
        expect(c.parent).toEqual({ runId: parent, step: 'a' })
        expect(c).not.toHaveProperty('children')
      }
      // the summaries agree with the reducer's state
      expect(reduceFlow(await s.read(parent)).children).toBe(3)
      expect(reduceFlow(await s.read(kids[1]!)).parent).toEqual({ runId: parent, step: 'a' })
      // the count outlives the end, and a copy handed out changes nothing stored
      const end = await s.append(parent, { kind: 'flow.completed', flow: parent, data: { duration: 1 } })
      const [done] = await s.listRuns(parentFlow)
      expect(done).toEqual({ runId: parent, flow: parentFlow, status: 'completed', startedAt: p.ts, completedAt: end.ts, children: 3 })
      const [first] = await s.listRuns(childFlow, { limit: 1 })
      try {
        ;(first!.parent as { runId: string }).runId = 'changed'
      } catch {
        // a frozen copy refuses the write
      }
      expect((await s.listRuns(childFlow, { limit: 1 }))[0]!.parent).toEqual({ runId: parent, step: 'a' })
    })

    it('no parent for a run started otherwise, nor for a malformed data.parent', async () => {
      const s = await t.store()
      const flow = uniqueName('flow')
      for (const extra of [
        {},
        { parent: 'p-1' },
        { parent: { runId: 'p-1' } },
        { parent: { runId: 7, step: 'a' } },
        { parent: ['p', 'a'] },
      ]) {
        const run = uniqueName()
        await s.append(run, started(run, flow, extra))
        const [summary] = (await s.listRuns(flow)).filter((r) => r.runId === run)
        expect(summary, JSON.stringify(extra)).toBeDefined()
        expect(summary, JSON.stringify(extra)).not.toHaveProperty('parent')
        expect(reduceFlow(await s.read(run)).parent).toBeUndefined()
      }
    })

    it('a step with several awaits pending keeps the run awaiting until the last one resumes', async () => {
      const s = await t.store()
      const flow = uniqueName('flow')
      const run = uniqueName()
      const go = async (e: NewEvent, expected: RunStatus, why: string) => {
        await s.append(run, e)
        await expectAgrees(s, flow, run, expected, why)
      }
      const at = (kind: string, data: Record<string, unknown>, position: number, name = 'a') => step(run, kind, name, { ...data, position })
      await go(started(run, flow), 'running', 'flow.started')
      await go(step(run, 'step.started', 'a', {}), 'running', 'a started')
      await go(invoke(run, 'c-0', 0), 'awaiting', 'a invokes a child (position 0)')
      await go(at('step.await.event', { eventKind: 'paid' }, 1), 'awaiting', 'a awaits an event (position 1)')
      await go(invoke(run, 'c-2', 2), 'awaiting', 'a invokes another child (position 2)')
      await go(resumed(run, 2), 'awaiting', 'the child at 2 ended: a waits on 0 and 1')
      await go(
        at('step.await.timeout', { awaitType: 'event', timeoutAt: new Date().toISOString() }, 1),
        'awaiting',
        'the event at 1 timed out',
      )
      await go(step(run, 'step.started', 'b', {}), 'running', 'b started while a awaits')
      await go(step(run, 'step.completed', 'b', { duration: 1 }), 'awaiting', 'b completed')
      await go(resumed(run, 7), 'awaiting', 'a resume of a position that is not pending')
      await go(resumed(run, 0), 'running', 'the child at 0 ended: nothing left')
      await go(invoke(run, 'c-3', 3), 'awaiting', 'a invokes again (position 3)')
      await go(at('step.await.time', { resumeAt: new Date().toISOString() }, 4), 'awaiting', 'and awaits a timer (position 4)')
      await go(resumed(run, 4), 'awaiting', 'the timer fired (a Promise.race winner)')
      await go(step(run, 'step.completed', 'a', { duration: 1 }), 'running', 'a completed: the loser at 3 is closed')
      await go(step(run, 'step.started', 'a', {}), 'running', 'a started again')
      await go(invoke(run, 'c-5', 5), 'awaiting', 'a invokes (position 5)')
      await go(step(run, 'step.await.trigger', 'a', { triggerId: 't', triggerType: 'user' }), 'awaiting', 'an await without a position')
      await go(resumed(run), 'running', 'a resume without a position ends every await')
      await go(invoke(run, 'c-6', 6), 'awaiting', 'a invokes (position 6)')
      await go(step(run, 'step.started', 'a', { recovered: true }), 'running', 'a taken over')
      await go(resumed(run, 6), 'running', 'the child at 6 ended')
    })

    it('random sequences of positioned awaits: the listed status always equals reduceFlow of the log', async () => {
      const s = await t.store()
      const kinds = [
        'step.started',
        'step.completed',
        'step.await.run',
        'step.await.event',
        'step.resumed',
        'step.await.timeout',
        'step.retry',
      ]
      for (let seed = 1; seed <= 10; seed++) {
        const rnd = prng(seed * 7919)
        const flow = uniqueName('flow')
        const run = uniqueName()
        await s.append(run, started(run, flow))
        for (let i = 0; i < 16; i++) {
          const kind = kinds[Math.floor(rnd() * kinds.length)]!
          const name = rnd() < 0.75 ? 'a' : 'b'
          // a position from 0 to 2 (the same one now and then, as a duplicate), or none
          const p = Math.floor(rnd() * 4)
          const data: Record<string, unknown> = kind === 'step.await.run' ? { childRunId: `c-${i}`, flow: 'child' } : {}
          if (kind.startsWith('step.await.') || kind === 'step.resumed') {
            if (p < 3) data.position = p
          }
          await s.append(run, step(run, kind, name, data))
          const want = reduceFlow(await s.read(run)).status
          const got = await s.listRuns(flow, { status: want })
          expect(
            got.map((r) => [r.runId, r.status]),
            `seed ${seed}, event ${i} (${kind} ${name} ${String(data.position)})`,
          ).toEqual([[run, want]])
        }
        const runs = (await s.read(run)).filter((e) => e.kind === 'step.await.run').length
        expect((await s.listRuns(flow))[0]?.children).toBe(runs === 0 ? undefined : runs)
      }
    })
  })
}
