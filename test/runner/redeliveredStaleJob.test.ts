// A queue delivers a job again when its worker dies (at-least-once). A re-delivered job of a step
// with a step-level limit whose step has moved on (suspended on an await, ended) runs no handler:
// it only repairs. It used to ask for a slot anyway, and without one it took the step's place in
// line, replacing the wait of the job that would resume the step (its await's job): the wake then
// went to the stale job, which did nothing, and the run stayed suspended for good (found by an
// acceptance probe that SIGKILLed BullMQ workers; reproduced here by delivering the job again).
import { createMemoryStreamStore, type MemoryStreamStore } from '@leanflow/core'
import { createRunner, defineFlow, type Runner } from '@leanflow/runner'
import { expect, it } from 'vitest'
import { faultyQueue } from '../fixtures/faultyQueue.js'
import { deferred, kindsOf, waitForEvent, waitKind } from '../fixtures/runnerKit.js'

type Flows = Parameters<typeof createRunner>[0]['flows']

/** Runs `body` against a runner of `flows` on a memory store and a queue that can deliver a job again. */
async function withRunner(
  flows: Flows,
  body: (t: { runner: Runner; store: MemoryStreamStore; again: ReturnType<typeof faultyQueue>['again'] }) => Promise<void>,
  slotLeaseMs?: number,
): Promise<void> {
  const store = createMemoryStreamStore()
  const { queue, again } = faultyQueue()
  const runner = createRunner({ store, queue, flows, slotLeaseMs, onError: () => {} })
  await runner.start()
  try {
    await body({ runner, store, again })
  } finally {
    await runner.stop()
    await queue.close()
  }
}

/** A step of limit 1: a run `{ hold: true }` holds its slot until `gate` opens, any other awaits a 200 ms timer first. */
function timerFlow(name: string) {
  const gate = deferred()
  const flow = defineFlow<{ hold: boolean }>({
    name,
    steps: {
      s: {
        concurrency: { limit: 1 },
        handler: async (input, ctx) => {
          if (input.hold) await gate.promise
          else await ctx.await.time('200ms')
          return 'done'
        },
      },
    },
  })
  return { gate, flow }
}

/** Run b suspends on its timer (its slot goes back), run a takes the slot and holds it, b's timer job waits for it (`step.queued`). */
async function timerWaitsForSlot(runner: Runner, store: MemoryStreamStore, flow: ReturnType<typeof timerFlow>['flow']) {
  const b = await runner.startFlow(flow, { hold: false })
  await waitKind(store, b.runId, 'step.await.time', 's')
  const a = await runner.startFlow(flow, { hold: true })
  await waitKind(store, a.runId, 'step.started', 's')
  await waitKind(store, b.runId, 'step.queued', 's')
  return { a, b }
}

it('a stale step job delivered again while its step waits for a slot on a timer does not take the timer job’s place: the run completes', async () => {
  const { gate, flow } = timerFlow('scarce')
  await withRunner([flow], async ({ runner, store, again }) => {
    const { a, b } = await timerWaitsForSlot(runner, store, flow)
    // b's first step job comes again (its worker "died" after the step suspended)
    await again((job) => job.name === 'step' && (job.data as { runId: string }).runId === b.runId)
    gate.resolve()
    expect(await runner.result(a.runId, { timeout: '5s' })).toEqual({ s: 'done' })
    // the freed slot wakes the timer's job (before, it woke the stale job, which did nothing: b
    // then waited on its backstop, 10 s on, which now asks again; before that fix, for good)
    expect(await runner.result(b.runId, { timeout: '5s' })).toEqual({ s: 'done' })
    expect(await kindsOf(store, b.runId)).toEqual([
      'flow.started',
      'step.started(s)',
      'step.await.time(s)',
      'step.queued(s)',
      'step.resumed(s)',
      'step.completed(s)',
      'flow.completed',
    ])
  })
}, 30_000)

it('a job of a completed step delivered again while its run goes on and the slot is taken logs no step.queued and takes no place in line', async () => {
  const gate = deferred()
  const later = deferred()
  const flow = defineFlow<{ hold: boolean }>({
    name: 'scarce2',
    steps: {
      s: {
        concurrency: { limit: 1 },
        handler: async (input) => {
          if (input.hold) await gate.promise
          return 'done'
        },
      },
      t: {
        needs: ['s'],
        handler: async (input) => {
          if (!input.hold) await later.promise
          return 'then'
        },
      },
    },
  })
  await withRunner([flow], async ({ runner, store, again }) => {
    // b's s completes, its t runs on
    const b = await runner.startFlow(flow, { hold: false })
    await waitKind(store, b.runId, 'step.started', 't')
    const a = await runner.startFlow(flow, { hold: true })
    await waitKind(store, a.runId, 'step.started', 's')
    await again((job) => job.name === 'step' && (job.data as { runId: string; step: string }).runId === b.runId && job.id.includes('~s~'))
    const { limits } = await runner.limits(flow.name)
    gate.resolve()
    later.resolve()
    expect(await runner.result(a.runId, { timeout: '5s' })).toEqual({ t: 'then' })
    expect(await runner.result(b.runId, { timeout: '5s' })).toEqual({ t: 'then' })
    expect(await kindsOf(store, b.runId)).toEqual([
      'flow.started',
      'step.started(s)',
      'step.completed(s)',
      'step.started(t)',
      'step.completed(t)',
      'flow.completed',
    ])
    // before: b's stale job waited in line (and its step logged step.queued)
    expect(limits.length).toBeGreaterThan(0)
    expect(JSON.stringify(limits)).not.toContain(b.runId)
  })
}, 30_000)

it('a woken job delivered again once its step suspended gives back its slot and takes no place in line: the timer’s job resumes the step', async () => {
  const gates = [deferred(), deferred()]
  const flow = defineFlow<{ gate?: number }>({
    name: 'scarce3',
    steps: {
      s: {
        concurrency: { limit: 1 },
        handler: async (input, ctx) => {
          if (input.gate !== undefined) await gates[input.gate]?.promise
          else await ctx.await.time('300ms')
          return 'done'
        },
      },
    },
  })
  await withRunner([flow], async ({ runner, store, again }) => {
    const a = await runner.startFlow(flow, { gate: 0 })
    await waitKind(store, a.runId, 'step.started', 's')
    // b waits for the slot; a's end wakes it (a job carrying the slot's token), and it suspends on its timer
    const b = await runner.startFlow(flow, {})
    await waitKind(store, b.runId, 'step.queued', 's')
    gates[0]?.resolve()
    await waitKind(store, b.runId, 'step.await.time', 's')
    // c takes the slot; b's timer fires and waits for it
    const c = await runner.startFlow(flow, { gate: 1 })
    await waitKind(store, c.runId, 'step.started', 's')
    let queued = 0
    await waitForEvent(store, b.runId, (e) => e.kind === 'step.queued' && ++queued === 2)
    // b's woken job comes again (its worker "died" after the step suspended)
    await again(
      (job) =>
        job.name === 'step' &&
        (job.data as { runId: string; slot?: string }).runId === b.runId &&
        (job.data as { slot?: string }).slot !== undefined,
    )
    gates[1]?.resolve()
    expect(await runner.result(c.runId, { timeout: '5s' })).toEqual({ s: 'done' })
    // the freed slot wakes the timer's job (before, the stale job's wait replaced it: b waited on its backstop, 10 s on, or for good)
    expect(await runner.result(b.runId, { timeout: '5s' })).toEqual({ s: 'done' })
  })
}, 30_000)

it('a backstop whose worker died after it ended its step’s wait, before it ran the step: delivered again, it asks again and the run completes', async () => {
  const { gate, flow } = timerFlow('scarce4')
  await withRunner(
    [flow],
    async ({ runner, store }) => {
      // b's timer job waits for the slot, its backstop queued
      const { a, b } = await timerWaitsForSlot(runner, store, flow)
      // the state a backstop leaves when its worker dies right after the write that ends the wait
      // (`unwait`): no wait, the time job gone; the backstop itself comes again, as the one queued
      const cur = await store.getRunState<{ steps: Record<string, { wait?: unknown }> }>(b.runId)
      if (!cur?.doc.steps.s?.wait) throw new Error('b does not wait')
      delete cur.doc.steps.s.wait
      expect((await store.casRunState(b.runId, cur.version, cur.doc)).ok).toBe(true)
      gate.resolve()
      expect(await runner.result(a.runId, { timeout: '5s' })).toEqual({ s: 'done' })
      // before: the backstop found its wait ended, not by a wake, and gave up: b stayed suspended
      expect(await runner.result(b.runId, { timeout: '10s' })).toEqual({ s: 'done' })
      // a short lease: the backstop asks again at the holder's lease expiry (about 1 s), not 10 s on
    },
    1000,
  )
}, 30_000)
