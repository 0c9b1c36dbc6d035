import { describe, expect, it } from 'vitest'
import { applyEvent } from './applyEvent.js'
import type { EventRecord } from './events.js'
import { emptyFlowState } from './flowState.js'
import { ev, started, tsOf } from './internal/testEvents.js'
import { reduceFlow } from './reduceFlow.js'

// The reducer over the capabilities' events (design/flow-control.md, design/composition.md):
// flow.queued, flow.debounced, step.queued; step.await.run, parallel awaits, parent, children.

/**
 * Every prefix of `log` folded by applyEvent equals reduceFlow of it, and so does applyEvent on
 * the prefix's state after a JSON round trip (what a browser gets from GET /runs/:runId).
 */
function expectFoldsAgree(log: EventRecord[]): void {
  for (let i = 1; i <= log.length; i++) {
    const want = reduceFlow(log.slice(0, i))
    expect(log.slice(0, i).reduce(applyEvent, emptyFlowState())).toEqual(want)
    if (i < log.length) {
      const viaJson = applyEvent(JSON.parse(JSON.stringify(want)), log[i]!)
      expect(JSON.parse(JSON.stringify(viaJson))).toEqual(JSON.parse(JSON.stringify(reduceFlow(log.slice(0, i + 1)))))
    }
  }
}

describe('reduceFlow: flow control (flow.queued, flow.debounced, step.queued)', () => {
  const queued = (n: number, data: unknown = { reason: 'concurrency', key: 'tenant-1' }) => ev(n, 'flow.queued', data)

  it('flow.queued makes a started run queued with why; flow.debounced replaces the input and the due time', () => {
    const log = [
      started(),
      queued(2, { reason: 'debounce', key: 'user-1', until: tsOf(5000) }),
      ev(3, 'flow.debounced', { input: { orderId: 'o-2' }, until: tsOf(6000) }),
      ev(4, 'flow.debounced', { input: { orderId: 'o-3' }, until: tsOf(7000) }),
    ]
    expect(reduceFlow(log.slice(0, 2))).toMatchObject({
      status: 'queued',
      queued: { reason: 'debounce', key: 'user-1', until: tsOf(5000) },
      input: { orderId: 'o-1' },
    })
    const s = reduceFlow(log)
    expect(s.status).toBe('queued')
    expect(s.input).toEqual({ orderId: 'o-3' })
    expect(s.queued).toEqual({ reason: 'debounce', key: 'user-1', until: tsOf(7000) })
    // the steps stay pending while the run waits
    expect(s.steps.charge).toEqual({ name: 'charge', status: 'pending', attempt: 0, needs: [] })
    expect(log.reduce(applyEvent, emptyFlowState())).toEqual(s)
  })

  it('a queued run runs from its first step.started, and shows no queued after', () => {
    const s = reduceFlow([started(), queued(2), ev(3, 'step.started', {}, 'charge', 1)])
    expect(s.status).toBe('running')
    expect(s.queued).toBeUndefined()
    expect(JSON.parse(JSON.stringify(s))).not.toHaveProperty('queued')
    expect(s.steps.charge).toMatchObject({ status: 'running', attempt: 1 })
    // its first step may await at once: the run is then awaiting, as any run
    const a = reduceFlow([
      started(),
      queued(2),
      ev(3, 'step.started', {}, 'charge', 1),
      ev(4, 'step.await.time', { resumeAt: tsOf(99) }, 'charge', 1),
    ])
    expect(a.status).toBe('awaiting')
  })

  it('only a started run that has not ended is queued; flow.debounced changes only a queued run', () => {
    // before flow.started: pending stays pending (flow.started is the first event of every run)
    expect(reduceFlow([queued(1)]).status).toBe('pending')
    expect(reduceFlow([queued(1)]).queued).toBeUndefined()
    // after the end: the terminal status sticks
    const ended = reduceFlow([started(), ev(2, 'flow.canceled', {}), queued(3), ev(4, 'flow.debounced', { input: 9, until: tsOf(9) })])
    expect(ended).toMatchObject({ status: 'canceled', input: { orderId: 'o-1' } })
    expect(ended.queued).toBeUndefined()
    // a running run: flow.debounced is late (the run already took its input) and changes nothing
    const running = reduceFlow([started(), ev(2, 'step.started', {}, 'charge', 1), ev(3, 'flow.debounced', { input: 9, until: tsOf(9) })])
    expect(running).toMatchObject({ status: 'running', input: { orderId: 'o-1' } })
    expect(running.queued).toBeUndefined()
    // a running run queued again (a later limit): queued, with the new reason
    const again = reduceFlow([started(), ev(2, 'step.started', {}, 'charge', 1), queued(3, { reason: 'rateLimit', until: tsOf(60_000) })])
    expect(again).toMatchObject({ status: 'queued', queued: { reason: 'rateLimit', until: tsOf(60_000) } })
    // a queued run queued for another reason: the last flow.queued tells why
    const other = reduceFlow([started(), queued(2, { reason: 'debounce', key: 'u', until: tsOf(9) }), queued(3)])
    expect(other.queued).toEqual({ reason: 'concurrency', key: 'tenant-1' })
  })

  it('a run that ends while queued ends like any run: no queued, every step canceled', () => {
    const s = reduceFlow([
      started(),
      queued(2),
      ev(3, 'step.queued', { reason: 'concurrency' }, 'charge'),
      ev(4, 'flow.canceled', { reason: 'superseded' }),
    ])
    expect(s).toMatchObject({ status: 'canceled', cancelReason: 'superseded' })
    expect(s.queued).toBeUndefined()
    expect(s.steps.charge).toEqual({ name: 'charge', status: 'canceled', attempt: 0, needs: [] })
    expect(s.steps.ship?.status).toBe('canceled')
  })

  it('step.queued makes the step queued with why until its step.started; the run stays queued meanwhile', () => {
    const log = [started(), queued(2), ev(3, 'step.queued', { reason: 'concurrency', key: 'api' }, 'charge', 1)]
    const waiting = reduceFlow(log)
    expect(waiting.status).toBe('queued')
    expect(waiting.steps.charge).toEqual({
      name: 'charge',
      status: 'queued',
      attempt: 0,
      needs: [],
      queued: { reason: 'concurrency', key: 'api' },
    })
    const s = reduceFlow([...log, ev(4, 'step.started', {}, 'charge', 1)])
    expect(s.status).toBe('running')
    expect(s.steps.charge).toEqual({ name: 'charge', status: 'running', attempt: 1, needs: [], startedAt: tsOf(4) })
  })

  it('a queued step counts as live work: the run is running, not awaiting, while another step awaits', () => {
    const base = [started(), ev(2, 'step.started', {}, 'charge', 1), ev(3, 'step.await.time', { resumeAt: tsOf(1000) }, 'charge', 1)]
    expect(reduceFlow(base).status).toBe('awaiting')
    const s = reduceFlow([...base, ev(4, 'step.queued', { reason: 'concurrency' }, 'ship')])
    expect(s.status).toBe('running')
    expect(s.steps.ship).toMatchObject({ status: 'queued', queued: { reason: 'concurrency' } })
    expect(s.steps.ship?.queued).not.toHaveProperty('key')
  })

  it('a retrying step waiting for a slot: step.queued clears nextRetryAt, keeps the attempt and the error', () => {
    const s = reduceFlow([
      started(),
      ev(2, 'step.started', {}, 'charge', 1),
      ev(3, 'step.failed', { error: 'busy', willRetry: true, nextRetryAt: tsOf(100) }, 'charge', 1),
      ev(100, 'step.queued', { reason: 'concurrency' }, 'charge', 2),
    ])
    expect(s.steps.charge).toEqual({
      name: 'charge',
      status: 'queued',
      attempt: 1,
      needs: [],
      startedAt: tsOf(2),
      error: 'busy',
      queued: { reason: 'concurrency' },
    })
  })

  it('applyEvent equals reduceFlow, also from a queued state that went through JSON', () => {
    const log = [
      started(),
      queued(2, { reason: 'rateLimit', key: 'k', until: tsOf(10) }),
      ev(3, 'flow.debounced', { input: { orderId: 'o-9' }, until: tsOf(20) }),
      ev(4, 'step.queued', { reason: 'concurrency', key: 'api' }, 'charge'),
      ev(5, 'step.started', {}, 'charge', 1),
      ev(6, 'step.completed', { duration: 1 }, 'charge', 1),
    ]
    expectFoldsAgree(log)
  })

  it('garbage data never throws: reason reads as text, key and until only when strings', () => {
    const s = reduceFlow([started(), queued(2, null), ev(3, 'flow.debounced', 'x'), ev(4, 'step.queued', [1], 'charge')])
    expect(s.status).toBe('queued')
    expect(s.queued).toEqual({ reason: '' })
    expect(s.input).toBeUndefined()
    expect(s.steps.charge).toMatchObject({ status: 'queued', queued: { reason: '' } })
    expect(reduceFlow([started(), queued(2, { reason: 7, key: 1, until: {} })]).queued).toEqual({ reason: '7' })
  })
})

describe('reduceFlow: composition (step.await.run, parallel awaits, parent, children)', () => {
  const at = (n: number, kind: string, data: Record<string, unknown>, position?: number, step = 'charge') =>
    ev(n, kind, position === undefined ? data : { ...data, position }, step, 1)
  const run = (n: number, child: string, position?: number) => at(n, 'step.await.run', { childRunId: child, flow: 'invoice' }, position)
  const resumed = (n: number, position?: number, awaitType = 'run') =>
    at(n, 'step.resumed', { reason: 'child run ended', awaitType, awaitDuration: 1 }, position)
  const base = () => [started(), ev(2, 'step.started', {}, 'charge', 1)]

  it('lists every pending await with its position; the step awaits while any is pending', () => {
    const log = [...base(), run(3, 'c-1', 0), at(4, 'step.await.event', { eventKind: 'paid', timeoutAt: tsOf(99) }, 1), run(5, 'c-2', 2)]
    const c1 = { type: 'run', childRunId: 'c-1', flow: 'invoice', position: 0 }
    const paid = { type: 'event', until: tsOf(99), eventKind: 'paid', position: 1 }
    const c2 = { type: 'run', childRunId: 'c-2', flow: 'invoice', position: 2 }
    const s = reduceFlow(log)
    expect(s.status).toBe('awaiting')
    expect(s.steps.charge).toMatchObject({ status: 'awaiting', attempt: 1, awaiting: c2, pending: [c1, paid, c2] })
    // one resolves: the step replays and waits on the rest, still awaiting
    const one = reduceFlow([...log, resumed(6, 2)])
    expect(one.status).toBe('awaiting')
    expect(one.steps.charge).toMatchObject({ status: 'awaiting', awaiting: paid, pending: [c1, paid] })
    const two = reduceFlow([...log, resumed(6, 2), at(7, 'step.await.timeout', { awaitType: 'event', timeoutAt: tsOf(99) }, 1)])
    expect(two.steps.charge).toMatchObject({ status: 'awaiting', awaiting: c1, pending: [c1] })
    // the last one resolves: running, nothing pending
    const all = reduceFlow([...log, resumed(6, 2), resumed(7, 1, 'event'), resumed(8, 0)])
    expect(all.status).toBe('running')
    expect(all.steps.charge).toEqual({ name: 'charge', status: 'running', attempt: 1, needs: [], startedAt: tsOf(2) })
    // a resume of a position that is not pending changes nothing but the event's effects
    expect(reduceFlow([...log, resumed(6, 7)]).steps.charge).toMatchObject({ status: 'awaiting', pending: [c1, paid, c2] })
  })

  it('Promise.race: the step completes on the winner, and the losers leave with it', () => {
    const log = [...base(), run(3, 'c-1', 0), at(4, 'step.await.time', { resumeAt: tsOf(50) }, 1), resumed(5, 1, 'time')]
    expect(reduceFlow(log).steps.charge).toMatchObject({ status: 'awaiting', pending: [{ type: 'run', childRunId: 'c-1' }] })
    for (const end of [
      ev(6, 'step.completed', { result: 1, duration: 4 }, 'charge', 1),
      ev(6, 'step.failed', { error: 'x', willRetry: false }, 'charge', 1),
      ev(6, 'step.failed', { error: 'x', willRetry: true }, 'charge', 1),
      ev(6, 'step.retry', { reason: 'x', delayMs: 5 }, 'charge', 2),
      ev(6, 'step.queued', { reason: 'concurrency' }, 'charge', 2),
      ev(6, 'step.started', {}, 'charge', 2),
      ev(6, 'step.started', { recovered: true }, 'charge', 1),
    ]) {
      const s = reduceFlow([...log, end]).steps.charge
      expect(s?.status, end.kind).not.toBe('awaiting')
      expect(s?.pending, end.kind).toBeUndefined()
      expect(s?.awaiting, end.kind).toBeUndefined()
    }
    // a run that ends cancels the awaiting step, pending awaits and all
    const canceled = reduceFlow([...log, ev(6, 'flow.canceled', { reason: 'user' })]).steps.charge
    expect(canceled).toEqual({ name: 'charge', status: 'canceled', attempt: 1, needs: [], startedAt: tsOf(2) })
  })

  it('events without a position (logs before parallel awaits) keep one await at a time', () => {
    const t = at(3, 'step.await.time', { resumeAt: tsOf(9) })
    expect(reduceFlow([...base(), t]).steps.charge).toMatchObject({
      awaiting: { type: 'time', until: tsOf(9) },
      pending: [{ type: 'time' }],
    })
    // a second unpositioned await replaces the first; an unpositioned resume ends every pending await
    const again = reduceFlow([...base(), t, at(4, 'step.await.trigger', { triggerId: 't', triggerType: 'user' })]).steps.charge
    expect(again?.pending).toEqual([{ type: 'trigger', triggerId: 't', triggerType: 'user' }])
    const mixed = [...base(), run(3, 'c-1', 0), run(4, 'c-2', 1)]
    expect(reduceFlow([...mixed, resumed(5)]).steps.charge).toMatchObject({ status: 'running' })
    expect(
      reduceFlow([...mixed, at(5, 'step.await.timeout', { awaitType: 'run', timeoutAt: tsOf(5) })]).steps.charge?.pending,
    ).toBeUndefined()
    // the same position announced again replaces its entry
    const twice = reduceFlow([...base(), run(3, 'c-1', 0), run(4, 'c-9', 0)]).steps.charge
    expect(twice?.pending).toEqual([{ type: 'run', childRunId: 'c-9', flow: 'invoice', position: 0 }])
  })

  it('parent from flow.started, children from step.await.run', () => {
    const child = reduceFlow([
      ev(1, 'flow.started', { name: 'invoice', input: {}, steps: { bill: { needs: [] } }, parent: { runId: 'p-1', step: 'charge' } }),
    ])
    expect(child.parent).toEqual({ runId: 'p-1', step: 'charge' })
    expect(child.children).toBeUndefined()
    const parent = reduceFlow([...base(), run(3, 'c-1', 0), run(4, 'c-2', 1), resumed(5, 0), run(6, 'c-3', 2)])
    expect(parent.children).toBe(3)
    expect(parent.parent).toBeUndefined()
    expect(JSON.parse(JSON.stringify(parent))).not.toHaveProperty('parent')
    expect(reduceFlow(base()).children).toBeUndefined()
    // garbage parents are ignored; a later flow.started changes nothing
    for (const p of [null, 'p-1', { runId: 'p-1' }, { runId: 1, step: 'x' }, []]) {
      expect(reduceFlow([ev(1, 'flow.started', { name: 'x', parent: p })]).parent).toBeUndefined()
    }
    const late = [started(), ev(2, 'flow.started', { name: 'x', parent: { runId: 'p', step: 's' } })]
    expect(reduceFlow(late).parent).toBeUndefined()
  })

  it('applyEvent equals reduceFlow, also from a state that went through JSON', () => {
    const log = [
      ev(1, 'flow.started', { name: 'order', input: {}, steps: { charge: { needs: [] } }, parent: { runId: 'p-1', step: 's' } }),
      ev(2, 'step.started', {}, 'charge', 1),
      run(3, 'c-1', 0),
      run(4, 'c-2', 1),
      at(5, 'step.await.trigger', { triggerId: 't', triggerType: 'user', timeoutAt: tsOf(80) }, 2),
      resumed(6, 1),
      at(7, 'step.await.timeout', { awaitType: 'trigger', timeoutAt: tsOf(80) }, 2),
      resumed(8, 0),
      ev(9, 'step.completed', { result: 1, duration: 7 }, 'charge', 1),
      ev(10, 'flow.completed', { duration: 9 }),
    ]
    expectFoldsAgree(log)
  })

  it('garbage never throws: positions that are no numbers read as none; a JSON state with garbage pending', () => {
    const s = reduceFlow([
      ...base(),
      at(3, 'step.await.run', { childRunId: 7, flow: null }, Number.NaN),
      ev(4, 'step.await.run', 'x', 'charge'),
    ])
    expect(s.steps.charge?.pending).toEqual([{ type: 'run' }])
    expect(s.children).toBe(2)
    const json = JSON.parse(JSON.stringify(reduceFlow([...base(), run(3, 'c-1', 0)]))) as { steps: { charge: Record<string, unknown> } }
    for (const pending of ['x', null, [null, 3, 'y'], { 0: 1 }]) {
      json.steps.charge.pending = pending
      const next = applyEvent(json as never, resumed(4, 0))
      // garbage entries of an array have no position 0: they stay (garbage in, garbage kept), nothing throws
      expect(next.steps.charge?.status).toBe(Array.isArray(pending) ? 'awaiting' : 'running')
      const more = applyEvent(json as never, run(4, 'c-2', 1))
      expect(more.steps.charge?.pending?.at(-1)).toEqual({ type: 'run', childRunId: 'c-2', flow: 'invoice', position: 1 })
    }
  })
})
