import { describe, expect, it } from 'vitest'
import { applyEvent } from './applyEvent.js'
import type { EventRecord } from './events.js'
import { emptyFlowState } from './flowState.js'
import { deepFreeze, ev, started, tsOf } from './internal/testEvents.js'
import { reduceFlow } from './reduceFlow.js'

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

describe('reduceFlow: what a step keeps by its status', () => {
  it('completedAt while completed or failed, duration and result while completed, nextRetryAt while retrying', () => {
    const retried = reduceFlow([
      started(),
      ev(2, 'step.started', {}, 'charge', 1),
      ev(3, 'step.failed', { error: 'declined', willRetry: true, nextRetryAt: tsOf(9) }, 'charge', 1),
    ]).steps.charge
    expect(retried).toEqual({
      name: 'charge',
      status: 'retrying',
      attempt: 1,
      needs: [],
      startedAt: tsOf(2),
      error: 'declined',
      nextRetryAt: tsOf(9),
    })
    // an await after a completion (no leanflow runner writes it) shows what the step waits for, not the old result
    const odd = reduceFlow([
      started(),
      ev(2, 'step.started', {}, 'charge', 1),
      ev(3, 'step.completed', { result: 1, duration: 5 }, 'charge', 1),
      ev(4, 'step.await.time', { resumeAt: tsOf(8) }, 'charge', 1),
    ]).steps.charge
    const wait = { type: 'time', until: tsOf(8) }
    expect(odd).toEqual({ name: 'charge', status: 'awaiting', attempt: 1, needs: [], startedAt: tsOf(2), awaiting: wait, pending: [wait] })
  })

  it('an ended run cancels every step that has not ended, whatever status a foreign state gave it', () => {
    const foreign = { status: 'running', steps: { a: { name: 'a', status: 'paused', attempt: 1 } } } as never
    const s = applyEvent(foreign, ev(2, 'flow.canceled', { reason: 'stop' }))
    expect(s.status).toBe('canceled')
    expect(s.steps.a).toEqual({ name: 'a', status: 'canceled', attempt: 1 })
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
