import { describe, expect, it } from 'vitest'
import { applyEvent } from './applyEvent.js'
import type { EventRecord } from './events.js'
import { emptyFlowState } from './flowState.js'
import { reduceFlow } from './reduceFlow.js'

let clock = 0
/** An event with id `<ms>-0` (ms = n) and a matching ts. */
function ev(n: number, kind: string, data: unknown, step?: string, attempt?: number): EventRecord {
  const e: EventRecord = { id: `${n}-0`, ts: new Date(1_764_000_000_000 + n).toISOString(), kind, flow: 'run-1', data }
  if (step !== undefined) e.step = step
  if (attempt !== undefined) e.meta = { attempt }
  clock = Math.max(clock, n)
  return e
}
const tsOf = (n: number) => new Date(1_764_000_000_000 + n).toISOString()

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    Object.freeze(v)
    for (const k of Reflect.ownKeys(v)) deepFreeze((v as Record<PropertyKey, unknown>)[k])
  }
  return v
}

const started = (n = 1) =>
  ev(n, 'flow.started', { name: 'order', input: { orderId: 'o-1' }, steps: { charge: { needs: [] }, ship: { needs: ['charge'] } } })

describe('reduceFlow: run', () => {
  it('is pending with no events, and before flow.started', () => {
    const s = reduceFlow([])
    expect(s.status).toBe('pending')
    expect(s.steps).toEqual({})
    expect(s.logs).toEqual([])
    expect(s.state).toEqual({})
    expect(s.lastEventId).toBeUndefined()
    expect(reduceFlow([ev(1, 'payment.confirmed', { x: 1 })]).status).toBe('pending')
  })

  it('flow.started sets name, input, startedAt, runId and declares every step as pending', () => {
    const s = reduceFlow([started()])
    expect(s).toMatchObject({
      runId: 'run-1',
      name: 'order',
      status: 'running',
      input: { orderId: 'o-1' },
      startedAt: tsOf(1),
      lastEventId: '1-0',
    })
    expect(s.steps.charge).toEqual({ name: 'charge', status: 'pending', attempt: 0, needs: [] })
    expect(s.steps.ship).toEqual({ name: 'ship', status: 'pending', attempt: 0, needs: ['charge'] })
  })

  it('flow.completed sets result, duration, completedAt', () => {
    const s = reduceFlow([started(), ev(2, 'flow.completed', { result: { ship: 1 }, duration: 40 })])
    expect(s).toMatchObject({ status: 'completed', result: { ship: 1 }, duration: 40, completedAt: tsOf(2) })
  })

  it('flow.failed sets error and duration; flow.canceled sets cancelReason', () => {
    expect(reduceFlow([started(), ev(2, 'flow.failed', { error: 'charge failed', duration: 7 })])).toMatchObject({
      status: 'failed',
      error: 'charge failed',
      duration: 7,
      completedAt: tsOf(2),
    })
    expect(reduceFlow([started(), ev(2, 'flow.canceled', { reason: 'user asked' })])).toMatchObject({
      status: 'canceled',
      cancelReason: 'user asked',
      completedAt: tsOf(2),
    })
  })

  it('terminal statuses stick: later flow or step events do not change the status', () => {
    const s = reduceFlow([
      started(),
      ev(2, 'flow.canceled', {}),
      ev(3, 'flow.completed', { result: 1, duration: 1 }),
      ev(4, 'step.started', {}, 'charge', 1),
      ev(5, 'flow.failed', { error: 'x', duration: 1 }),
      ev(6, 'flow.started', { name: 'other', input: 2, steps: { extra: { needs: [] } } }),
    ])
    expect(s.status).toBe('canceled')
    expect(s.result).toBeUndefined()
    expect(s.error).toBeUndefined()
    expect(s.name).toBe('order')
    // an ended run never shows a live step, even when a step event comes after the end
    expect(s.steps.charge?.status).toBe('canceled')
    expect(s.steps.extra).toBeUndefined()
  })

  it('a terminal run event ends every step that has not completed or failed as canceled', () => {
    const log = [
      started(),
      ev(2, 'step.started', {}, 'charge', 1),
      ev(3, 'step.await.trigger', { triggerId: 't1', triggerType: 'webhook' }, 'charge', 1),
      ev(4, 'step.started', {}, 'ship', 1),
      ev(5, 'flow.canceled', { reason: 'user asked' }),
    ]
    const before = reduceFlow(log.slice(0, 4))
    expect(before.steps.charge?.status).toBe('awaiting')
    expect(before.steps.ship?.status).toBe('running')
    const s = reduceFlow(log)
    expect(s.status).toBe('canceled')
    expect(s.steps.charge).toMatchObject({ status: 'canceled', attempt: 1 })
    expect(s.steps.charge?.awaiting).toBeUndefined()
    expect(s.steps.ship?.status).toBe('canceled')
    const folded = log.reduce(applyEvent, emptyFlowState())
    expect(folded.steps).toEqual(s.steps)
    expect(before.steps.charge?.status).toBe('awaiting') // the earlier state is not changed
  })

  it('a failed run cancels its never-started steps and keeps a failed one; a canceled run cancels a retrying one', () => {
    const failed = reduceFlow([
      started(),
      ev(2, 'step.started', {}, 'charge', 1),
      ev(3, 'step.failed', { error: 'boom', willRetry: false }, 'charge', 1),
      ev(4, 'flow.failed', { error: 'boom', duration: 5 }),
    ])
    expect(failed.steps.charge?.status).toBe('failed')
    expect(failed.steps.ship?.status).toBe('canceled')
    const canceled = reduceFlow([
      started(),
      ev(2, 'step.started', {}, 'charge', 1),
      ev(3, 'step.completed', { result: 1, duration: 1 }, 'charge', 1),
      ev(4, 'step.started', {}, 'ship', 1),
      ev(5, 'step.failed', { error: 'flaky', willRetry: true, nextRetryAt: tsOf(100) }, 'ship', 1),
      ev(6, 'flow.canceled', {}),
    ])
    expect(canceled.steps.charge?.status).toBe('completed')
    expect(canceled.steps.ship?.status).toBe('canceled')
    expect(canceled.steps.ship?.nextRetryAt).toBeUndefined()
  })

  it('a recovered step.started keeps the attempt, counts recoveries and runs the step again', () => {
    const s = reduceFlow([
      started(),
      ev(2, 'step.started', {}, 'charge', 1),
      ev(3, 'step.started', { recovered: true }, 'charge', 1),
      ev(4, 'step.started', { recovered: true }, 'charge', 1),
    ])
    expect(s.steps.charge).toMatchObject({ status: 'running', attempt: 1, recoveries: 2, startedAt: tsOf(2) })
    const t = reduceFlow([started(), ev(2, 'step.started', {}, 'charge', 1), ev(3, 'step.completed', { duration: 1 }, 'charge', 1)])
    expect(t.steps.charge?.recoveries).toBeUndefined()
  })

  it('is awaiting while a step awaits and none runs or retries; running otherwise', () => {
    const base = [started(), ev(2, 'step.started', {}, 'charge', 1), ev(3, 'step.await.time', { resumeAt: tsOf(1000) }, 'charge', 1)]
    expect(reduceFlow(base).status).toBe('awaiting')
    expect(reduceFlow([...base, ev(4, 'step.started', {}, 'ship', 1)]).status).toBe('running')
    expect(reduceFlow([...base, ev(4, 'step.failed', { error: 'e', willRetry: true }, 'ship', 1)]).status).toBe('running')
    expect(reduceFlow([...base, ev(4, 'step.completed', { duration: 1 }, 'ship', 1)]).status).toBe('awaiting')
    expect(reduceFlow([...base, ev(4, 'step.resumed', { reason: 'time', awaitType: 'time', awaitDuration: 5 }, 'charge', 1)]).status).toBe(
      'running',
    )
    // between steps (one completed, the next not started) the run is running
    expect(reduceFlow([started(), ev(2, 'step.started', {}, 'charge', 1), ev(3, 'step.completed', {}, 'charge', 1)]).status).toBe('running')
  })
})

describe('reduceFlow: steps', () => {
  it('step.started → running with attempt and startedAt; step.completed → completed with result', () => {
    const s = reduceFlow([
      started(),
      ev(2, 'step.started', { input: { a: 1 } }, 'charge', 1),
      ev(5, 'step.completed', { result: 42, duration: 3 }, 'charge', 1),
    ])
    expect(s.steps.charge).toEqual({
      name: 'charge',
      status: 'completed',
      attempt: 1,
      needs: [],
      input: { a: 1 },
      startedAt: tsOf(2),
      completedAt: tsOf(5),
      duration: 3,
      result: 42,
    })
  })

  it('step.failed with willRetry → retrying with nextRetryAt; step.retry; a new attempt; without → failed', () => {
    const events = [
      started(),
      ev(2, 'step.started', {}, 'charge', 1),
      ev(3, 'step.failed', { error: 'card declined', willRetry: true, nextRetryAt: tsOf(1003) }, 'charge', 1),
      ev(4, 'step.retry', { reason: 'card declined', delayMs: 1000 }, 'charge', 2),
    ]
    const retrying = reduceFlow(events).steps.charge
    expect(retrying).toMatchObject({ status: 'retrying', attempt: 1, error: 'card declined', nextRetryAt: tsOf(1003) })
    const again = reduceFlow([...events, ev(1003, 'step.started', {}, 'charge', 2)]).steps.charge
    expect(again).toMatchObject({ status: 'running', attempt: 2, startedAt: tsOf(2) })
    expect(again?.error).toBeUndefined()
    expect(again?.nextRetryAt).toBeUndefined()
    const failed = reduceFlow([
      ...events,
      ev(1003, 'step.started', {}, 'charge', 2),
      ev(1004, 'step.failed', { error: 'no', willRetry: false }, 'charge', 2),
    ])
    expect(failed.steps.charge).toMatchObject({ status: 'failed', attempt: 2, error: 'no', completedAt: tsOf(1004) })
  })

  it('step.retry without nextRetryAt computes it from ts + delayMs', () => {
    const s = reduceFlow([
      started(),
      ev(2, 'step.started', {}, 'charge', 1),
      ev(3, 'step.retry', { reason: 'x', delayMs: 500 }, 'charge', 2),
    ])
    expect(s.steps.charge).toMatchObject({ status: 'retrying', attempt: 1, nextRetryAt: tsOf(503) })
  })

  it.each([
    ['step.await.time', { resumeAt: 'T' }, { type: 'time', until: 'T' }],
    [
      'step.await.event',
      { eventKind: 'payment.confirmed', match: { 'data.id': 1 }, timeoutAt: 'T' },
      { type: 'event', eventKind: 'payment.confirmed', until: 'T' },
    ],
    [
      'step.await.trigger',
      { triggerId: 'trg1', triggerType: 'webhook', timeoutAt: 'T' },
      { type: 'trigger', triggerId: 'trg1', triggerType: 'webhook', until: 'T' },
    ],
    [
      'step.await.run',
      { childRunId: 'child-1', flow: 'invoice', timeoutAt: 'T' },
      { type: 'run', childRunId: 'child-1', flow: 'invoice', until: 'T' },
    ],
  ])('%s → awaiting with what it waits for; resumed and timeout clear it', (kind, data, awaiting) => {
    const events = [started(), ev(2, 'step.started', {}, 'charge', 1), ev(3, kind, data, 'charge', 1)]
    expect(reduceFlow(events).steps.charge).toMatchObject({ status: 'awaiting', awaiting })
    for (const end of ['step.resumed', 'step.await.timeout']) {
      const s = reduceFlow([...events, ev(4, end, { awaitType: awaiting.type }, 'charge', 1)]).steps.charge
      expect(s?.status).toBe('running')
      expect(s?.awaiting).toBeUndefined()
    }
    const done = reduceFlow([...events, ev(4, 'step.completed', {}, 'charge', 1)]).steps.charge
    expect(done?.awaiting).toBeUndefined()
  })

  it('a step not declared in flow.started, or seen before it, still gets an entry', () => {
    const s = reduceFlow([
      ev(1, 'log', { level: 'info', msg: 'early' }, 'early'),
      started(2),
      ev(3, 'step.completed', { result: 1 }, 'surprise'),
    ])
    expect(s.steps.early).toEqual({ name: 'early', status: 'pending', attempt: 0 })
    expect(s.steps.surprise).toMatchObject({ name: 'surprise', status: 'completed', attempt: 1, result: 1 })
  })
})

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
    for (let i = 1; i <= log.length; i++) {
      const want = reduceFlow(log.slice(0, i))
      expect(log.slice(0, i).reduce(applyEvent, emptyFlowState())).toEqual(want)
      if (i < log.length) {
        const viaJson = applyEvent(JSON.parse(JSON.stringify(want)), log[i]!)
        expect(JSON.parse(JSON.stringify(viaJson))).toEqual(JSON.parse(JSON.stringify(reduceFlow(log.slice(0, i + 1)))))
      }
    }
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
    for (let i = 1; i <= log.length; i++) {
      const want = reduceFlow(log.slice(0, i))
      expect(log.slice(0, i).reduce(applyEvent, emptyFlowState())).toEqual(want)
      if (i < log.length) {
        const viaJson = applyEvent(JSON.parse(JSON.stringify(want)), log[i]!)
        expect(JSON.parse(JSON.stringify(viaJson))).toEqual(JSON.parse(JSON.stringify(reduceFlow(log.slice(0, i + 1)))))
      }
    }
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

describe('reduceFlow: logs, state, unknown input', () => {
  it('keeps only log events as log entries, in id order', () => {
    const s = reduceFlow([
      started(),
      ev(3, 'log', { level: 'warn', msg: 'b', fields: { n: 2 } }, 'charge'),
      ev(2, 'log', { level: 'info', msg: 'a' }),
    ])
    expect(s.logs).toEqual([
      { id: '2-0', ts: tsOf(2), level: 'info', msg: 'a' },
      { id: '3-0', ts: tsOf(3), step: 'charge', level: 'warn', msg: 'b', fields: { n: 2 } },
    ])
  })

  it('state.set keeps the last value of each key; an undefined value removes the key', () => {
    const s = reduceFlow([
      ev(1, 'state.set', { key: 'a', value: 1 }),
      ev(2, 'state.set', { key: 'b', value: { deep: [1] } }),
      ev(3, 'state.set', { key: 'a', value: 3 }),
      ev(4, 'state.set', { key: 'b' }),
    ])
    expect({ ...s.state }).toEqual({ a: 3 })
  })

  it('never throws on unknown kinds, missing, null, string or array data, and garbage fields', () => {
    const garbage = [
      null,
      'text',
      [1, 2],
      42,
      true,
      undefined,
      {},
      Object.create(null),
      { error: { message: 'm' }, msg: { a: 1 }, steps: 'x' },
    ]
    const kinds = [
      'flow.started',
      'flow.completed',
      'flow.failed',
      'flow.canceled',
      'step.started',
      'step.completed',
      'step.failed',
      'step.retry',
    ]
    kinds.push(
      'step.await.time',
      'step.await.event',
      'step.await.trigger',
      'step.resumed',
      'step.await.timeout',
      'log',
      'state.set',
      'flow.queued',
      'flow.debounced',
      'step.queued',
      'who.knows',
    )
    let n = 0
    const events: EventRecord[] = []
    for (const kind of kinds)
      for (const data of garbage)
        events.push({ ...ev(++n, kind, data, n % 2 ? 's1' : undefined), meta: n % 3 ? { attempt: 'x' } : undefined } as EventRecord)
    const s = reduceFlow(events)
    expect(s.lastEventId).toBe(`${n}-0`)
    expect(s.logs.every((l) => typeof l.msg === 'string' && l.level === 'info')).toBe(true)
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    expect(reduceFlow([ev(1, 'flow.failed', { error: cyclic, duration: 'x' })]).error).toBe('[unprintable]')
    expect(reduceFlow([ev(1, 'step.failed', { error: { message: 'boom' } }, 's')]).steps.s?.error).toBe('boom')
  })

  it('skips entries that are not events with a valid id, and never throws on a non-array', () => {
    const bad = [
      null,
      'x',
      1,
      { id: 'nope', kind: 'log', data: {} },
      { kind: 'log' },
      ev(1, 'log', { msg: 'ok' }),
    ] as unknown as EventRecord[]
    expect(reduceFlow(bad).logs.map((l) => l.msg)).toEqual(['ok'])
    expect(reduceFlow(null as never).status).toBe('pending')
    expect(reduceFlow(new Set([ev(1, 'log', { msg: 'it' })])).logs).toHaveLength(1)
  })

  it('orders by id numerically and ignores duplicate ids (the first given wins)', () => {
    const nine = { ...ev(9, 'log', { msg: 'nine' }), id: '9-0' }
    const ten = { ...ev(10, 'log', { msg: 'ten' }), id: '10-0' }
    const tenDup = { ...ten, data: { msg: 'ten again' } }
    const s = reduceFlow([ten, nine, tenDup, { ...ev(9, 'log', { msg: 'nine seq 10' }), id: '9-10' }, { ...nine, id: '9-2' }])
    expect(s.logs.map((l) => l.id)).toEqual(['9-0', '9-2', '9-10', '10-0'])
    expect(s.logs.at(-1)?.msg).toBe('ten')
    expect(s.lastEventId).toBe('10-0')
  })

  it('does not mutate its input (deep-frozen events)', () => {
    const events = deepFreeze([
      ev(3, 'step.started', {}, 'charge', 1),
      started(),
      ev(2, 'state.set', { key: 'k', value: { v: 1 } }),
      ev(4, 'log', { msg: 'x', fields: { a: 1 } }, 'charge'),
    ])
    const copy = structuredClone(events)
    const s = reduceFlow(events)
    expect(events).toEqual(copy)
    expect(s.steps.charge?.status).toBe('running')
  })
})

describe('reduceFlow: prototype pollution', () => {
  it('__proto__, constructor and prototype keys stay plain keys and pollute nothing', () => {
    const parsed = JSON.parse('{"key":"__proto__","value":{"polluted":true}}') as unknown
    const events = [
      ev(
        1,
        'flow.started',
        JSON.parse(
          '{"name":"o","input":{"__proto__":{"polluted":true}},"steps":{"__proto__":{"needs":[]},"constructor":{"needs":["__proto__"]}}}',
        ),
      ),
      ev(2, 'state.set', parsed),
      ev(3, 'state.set', { key: 'constructor', value: { prototype: { polluted: true } } }),
      ev(4, 'state.set', { key: 'prototype', value: 1 }),
      ev(5, 'step.started', {}, '__proto__', 1),
      ev(6, 'step.completed', JSON.parse('{"result":{"__proto__":{"polluted":true}}}'), 'constructor', 1),
      ev(7, 'log', JSON.parse('{"msg":"m","fields":{"__proto__":{"polluted":true}}}'), 'prototype'),
      ev(8, 'payment.confirmed', JSON.parse('{"__proto__":{"polluted":true}}'), 'toString'),
    ]
    const s = reduceFlow(events)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect((Object.prototype as Record<string, unknown>).polluted).toBeUndefined()
    expect(Object.keys(s.state).sort()).toEqual(['__proto__', 'constructor', 'prototype'])
    expect(Object.getPrototypeOf(s.state)).toBeNull()
    expect(Object.getPrototypeOf(s.steps)).toBeNull()
    expect(Object.keys(s.steps).sort()).toEqual(['__proto__', 'constructor', 'prototype', 'toString'])
    const PROTO = '__proto__'
    expect(s.steps[PROTO]).toMatchObject({ name: '__proto__', status: 'running' })
    expect(s.steps.constructor).toMatchObject({ status: 'completed', needs: ['__proto__'] })
    expect(Object.hasOwn(s.state, '__proto__')).toBe(true)
  })
})
