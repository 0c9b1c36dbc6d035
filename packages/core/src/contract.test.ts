// Black-box checks of @leanflow/core against DESIGN.md, through the public entry point only.

import { describe, expect, it } from 'vitest'
import {
  AwaitTimeoutError,
  applyEvent,
  assertFlowName,
  assertName,
  compareEventIds,
  createEventManager,
  createFlowWiring,
  createMemoryStreamStore,
  ERROR_STATUS,
  EventBus,
  type EventRecord,
  InvalidEventError,
  InvalidNameError,
  isEventId,
  isLeanflowError,
  LeanflowError,
  NonDeterminismError,
  NonRetriableError,
  PayloadTooLargeError,
  parseEvent,
  RetryAfterError,
  reduceFlow,
  TriggerConflictError,
  TriggerNotFoundError,
} from './index.js'

const HOSTILE = ['', 'a:b', 'a*', '{a}', 'a\nb', 'a\n', ' a', 'a b', '-a', '_a', '.a', 'ä', 'a/b', 'x'.repeat(129), '__proto__']

describe('errors (DESIGN.md "Errors")', () => {
  it('ERROR_STATUS is the code table exactly', () => {
    expect({ ...ERROR_STATUS }).toEqual({
      INVALID_EVENT: 400,
      INVALID_NAME: 400,
      INVALID_ARGUMENT: 400,
      PAYLOAD_TOO_LARGE: 413,
      FLOW_NOT_FOUND: 404,
      RUN_NOT_FOUND: 404,
      SCHEDULE_NOT_FOUND: 404,
      TRIGGER_NOT_FOUND: 404,
      TRIGGER_CONFLICT: 409,
      RUN_TOO_LONG: 409,
      HISTORY_GONE: 410,
      UNAUTHORIZED: 401,
      FORBIDDEN: 403,
      NOT_FOUND: 404,
      METHOD_NOT_ALLOWED: 405,
      UNSUPPORTED_MEDIA_TYPE: 415,
      RATE_LIMITED: 429,
      INTERNAL: 500,
      STORE_UNAVAILABLE: 503,
      STORE_FULL: 507,
      AWAIT_TIMEOUT: null,
      NON_DETERMINISM: null,
      NON_RETRIABLE: null,
      RETRY_AFTER: null,
      CHILD_RUN_FAILED: null,
      RUN_FAILED: null,
      RUN_CANCELED: null,
    })
  })

  it('each class has its code, name and extends LeanflowError', () => {
    const cases: Array<[LeanflowError, string, string]> = [
      [new InvalidEventError('x'), 'INVALID_EVENT', 'InvalidEventError'],
      [new InvalidNameError('x'), 'INVALID_NAME', 'InvalidNameError'],
      [new PayloadTooLargeError(10, 5), 'PAYLOAD_TOO_LARGE', 'PayloadTooLargeError'],
      [new TriggerNotFoundError('t1'), 'TRIGGER_NOT_FOUND', 'TriggerNotFoundError'],
      [new TriggerConflictError('t1', 'resolved'), 'TRIGGER_CONFLICT', 'TriggerConflictError'],
      [new AwaitTimeoutError(), 'AWAIT_TIMEOUT', 'AwaitTimeoutError'],
      [new NonDeterminismError('x'), 'NON_DETERMINISM', 'NonDeterminismError'],
      [new NonRetriableError('x'), 'NON_RETRIABLE', 'NonRetriableError'],
      [new RetryAfterError(250), 'RETRY_AFTER', 'RetryAfterError'],
    ]
    for (const [err, code, name] of cases) {
      expect(err).toBeInstanceOf(Error)
      expect(err).toBeInstanceOf(LeanflowError)
      expect(err.code).toBe(code)
      expect(err.name).toBe(name)
      expect(isLeanflowError(err)).toBe(true)
      expect(err.message.length).toBeGreaterThan(0)
    }
    expect(new RetryAfterError(250).ms).toBe(250)
    expect(new NonRetriableError('x', { cause: 'why' }).cause).toBe('why')
  })

  it('isLeanflowError uses a Symbol.for brand, not instanceof or a code field', () => {
    // A copy of the class from another bundle (ESM + CJS) carries the same global symbol.
    const foreign = Object.assign(new Error('other copy'), { code: 'INVALID_NAME' })
    Object.defineProperty(foreign, Symbol.for('leanflow.error'), { value: true })
    expect(isLeanflowError(foreign)).toBe(true)
    expect(isLeanflowError(Object.assign(new Error('x'), { code: 'INVALID_NAME' }))).toBe(false)
    expect(isLeanflowError({ code: 'INVALID_NAME', message: 'x' })).toBe(false)
    expect(isLeanflowError(JSON.parse(JSON.stringify(new InvalidNameError('x'))))).toBe(false)
    for (const v of [null, undefined, 0, 'INVALID_NAME', [], () => {}]) expect(isLeanflowError(v)).toBe(false)
  })
})

describe('names (DESIGN.md "Names")', () => {
  it('accepts the rule and refuses every hostile name with InvalidNameError', () => {
    for (const ok of ['a', 'A', '0', 'order', 'payment.confirmed', 'a_b-c.d', 'x'.repeat(128)]) expect(assertName(ok)).toBe(ok)
    for (const bad of [...HOSTILE.filter((n) => n !== '__proto__'), 42, null, undefined]) {
      let caught: unknown
      try {
        assertName(bad)
      } catch (err) {
        caught = err
      }
      expect(caught, JSON.stringify(bad)).toBeInstanceOf(InvalidNameError)
      expect((caught as LeanflowError).code).toBe('INVALID_NAME')
    }
  })

  it('refuses the reserved flow names runs, triggers, events', () => {
    for (const reserved of ['runs', 'triggers', 'events', 'schedules']) {
      expect(() => assertFlowName(reserved)).toThrow(InvalidNameError)
    }
    expect(assertFlowName('order')).toBe('order')
  })

  it('the memory store refuses hostile run ids and kinds before writing', async () => {
    const store = createMemoryStreamStore()
    for (const bad of HOSTILE.filter((n) => n !== '__proto__')) {
      await expect(store.append(bad, { kind: 'log', flow: bad, data: null })).rejects.toMatchObject({ code: 'INVALID_NAME' })
      await expect(store.append('run1', { kind: bad, flow: 'run1', data: null })).rejects.toMatchObject({ code: 'INVALID_NAME' })
    }
    expect(await store.read('run1')).toEqual([])
    await store.close()
  })
})

describe('event ids and parseEvent', () => {
  it('orders ids numerically, not as strings', () => {
    expect(compareEventIds('9-0', '10-0')).toBeLessThan(0)
    expect(compareEventIds('5-10', '5-9')).toBeGreaterThan(0)
    expect(compareEventIds('5-1', '5-1')).toBe(0)
    expect(isEventId('1-0')).toBe(true)
    for (const bad of ['1', '-1-0', 'a-0', '1-0 ', '', 1]) expect(isEventId(bad)).toBe(false)
  })

  it('validates the envelope; data may be null; step absent is fine', () => {
    const ok = { id: '1-0', ts: new Date(0).toISOString(), kind: 'k', flow: 'r', data: null }
    expect(parseEvent(ok)).toMatchObject(ok)
    expect(parseEvent({ ...ok, step: 's', meta: { attempt: 1 } }).step).toBe('s')
    const bad: unknown[] = [
      null,
      'x',
      { ...ok, id: 'x' },
      { ...ok, ts: 'yesterday' },
      { ...ok, kind: '' },
      { ...ok, flow: '' },
      { ...ok, step: 3 },
      { ...ok, meta: 'm' },
      { id: '1-0', ts: ok.ts, kind: 'k', flow: 'r' },
    ]
    for (const b of bad) expect(() => parseEvent(b), JSON.stringify(b)).toThrow(InvalidEventError)
  })
})

const ts = (ms: number) => new Date(ms).toISOString()
const ev = (n: number, kind: string, data: unknown, extra: Partial<EventRecord> = {}): EventRecord => ({
  id: `${n}-0`,
  ts: ts(n),
  kind,
  flow: 'r1',
  data,
  ...extra,
})

describe('the reducer (DESIGN.md "The reducer")', () => {
  const started = ev(1, 'flow.started', { name: 'order', input: { a: 1 }, steps: { a: { needs: [] }, b: { needs: ['a'] } } })

  it('pending before flow.started; steps listed in flow.started show as pending', () => {
    expect(reduceFlow([]).status).toBe('pending')
    const s = reduceFlow([started])
    expect(s.status).toBe('running')
    expect(s.name).toBe('order')
    expect(s.input).toEqual({ a: 1 })
    expect(s.startedAt).toBe(ts(1))
    expect(s.steps.a?.status).toBe('pending')
    expect(s.steps.b?.status).toBe('pending')
  })

  it('step.failed willRetry true → retrying (with nextRetryAt), false → failed; error copied', () => {
    const base = [started, ev(2, 'step.started', {}, { step: 'a', meta: { attempt: 1 } })]
    const retrying = reduceFlow([
      ...base,
      ev(3, 'step.failed', { error: 'boom', willRetry: true, nextRetryAt: ts(9) }, { step: 'a', meta: { attempt: 1 } }),
    ])
    expect(retrying.steps.a).toMatchObject({ status: 'retrying', error: 'boom', nextRetryAt: ts(9), attempt: 1 })
    const failed = reduceFlow([...base, ev(3, 'step.failed', { error: 'boom', willRetry: false }, { step: 'a' })])
    expect(failed.steps.a?.status).toBe('failed')
  })

  it('awaiting while a step awaits and none runs; awaiting shape per type', () => {
    const s = reduceFlow([
      started,
      ev(2, 'step.started', {}, { step: 'a', meta: { attempt: 1 } }),
      ev(3, 'step.await.trigger', { triggerId: 'T1', triggerType: 'webhook' }, { step: 'a' }),
    ])
    expect(s.status).toBe('awaiting')
    expect(s.steps.a?.status).toBe('awaiting')
    expect(s.steps.a?.awaiting).toMatchObject({ type: 'trigger', triggerId: 'T1' })
    const e = reduceFlow([
      ...[started, ev(2, 'step.started', {}, { step: 'a' })],
      ev(3, 'step.await.event', { eventKind: 'paid' }, { step: 'a' }),
    ])
    expect(e.steps.a?.awaiting).toMatchObject({ type: 'event', eventKind: 'paid' })
    const t = reduceFlow([started, ev(2, 'step.started', {}, { step: 'a' }), ev(3, 'step.await.time', { resumeAt: ts(50) }, { step: 'a' })])
    expect(t.steps.a?.awaiting).toMatchObject({ type: 'time', until: ts(50) })
    const resumed = reduceFlow([
      ...[started, ev(2, 'step.started', {}, { step: 'a' })],
      ev(3, 'step.await.time', { resumeAt: ts(50) }, { step: 'a' }),
      ev(4, 'step.resumed', { reason: 'time', awaitType: 'time', awaitDuration: 1 }, { step: 'a' }),
    ])
    expect(resumed.steps.a?.status).toBe('running')
    expect(resumed.status).toBe('running')
  })

  it('completed / failed / canceled runs carry result, error, cancelReason, duration', () => {
    const done = reduceFlow([started, ev(2, 'flow.completed', { result: { b: 2 }, duration: 7 })])
    expect(done).toMatchObject({ status: 'completed', result: { b: 2 }, duration: 7, completedAt: ts(2) })
    expect(reduceFlow([started, ev(2, 'flow.failed', { error: 'x', duration: 1 })])).toMatchObject({ status: 'failed', error: 'x' })
    expect(reduceFlow([started, ev(2, 'flow.canceled', { reason: 'user' })])).toMatchObject({ status: 'canceled', cancelReason: 'user' })
  })

  it('state, logs and lastEventId; __proto__ keys pollute nothing', () => {
    // an own "__proto__" key, as JSON from the wire has it (an object literal would set the prototype instead)
    const hostile = JSON.parse('{"__proto__":{"polluted":true}}') as Record<string, unknown>
    expect(Object.hasOwn(hostile, '__proto__')).toBe(true)
    const s = reduceFlow([
      started,
      ev(2, 'state.set', { key: '__proto__', value: { polluted: true } }),
      ev(3, 'state.set', { key: 'k', value: 1 }),
      ev(4, 'log', { level: 'info', msg: 'hi', fields: { f: 1 } }, { step: 'a' }),
      ev(5, 'payment.confirmed', hostile),
      ev(6, 'state.set', { key: 'h', value: hostile }),
      ev(7, 'log', { level: 'info', msg: 'hostile', fields: hostile }, { step: 'a' }),
    ])
    expect(s.state.k).toBe(1)
    expect(s.logs[0]).toEqual({ id: '4-0', ts: ts(4), step: 'a', level: 'info', msg: 'hi', fields: { f: 1 } })
    expect(s.logs).toHaveLength(2)
    expect(s.lastEventId).toBe('7-0')
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect((Object.prototype as Record<string, unknown>).polluted).toBeUndefined()
    expect((s.state as Record<string, unknown>).polluted).toBeUndefined()
    expect((s.state.h as Record<string, unknown>).polluted).toBeUndefined()
    expect((s.logs[1]!.fields as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('is total: unknown kinds, unknown steps, missing data, out of order and duplicates', () => {
    const weird = [
      ev(3, 'step.completed', undefined, { step: 'ghost' }),
      ev(1, 'flow.started', null),
      ev(2, 'whatever', 5),
      ev(2, 'whatever', 5),
      ev(4, 'step.failed', {}, { step: 'ghost' }),
    ]
    const s = reduceFlow(weird)
    expect(s.lastEventId).toBe('4-0')
    expect(s.steps.ghost).toBeDefined()
  })

  it('applyEvent folds in id order and ignores ids not above lastEventId, without mutating', () => {
    const log = [
      started,
      ev(2, 'step.started', {}, { step: 'a', meta: { attempt: 1 } }),
      ev(3, 'step.completed', { result: 1, duration: 1 }, { step: 'a' }),
    ]
    let s = reduceFlow([])
    for (const e of [log[0], log[1], log[1], log[0], log[2]] as EventRecord[]) s = applyEvent(s, e)
    expect(s).toEqual(reduceFlow(log))
    const frozen = JSON.stringify(s)
    applyEvent(s, ev(9, 'flow.completed', { duration: 1 }))
    expect(JSON.stringify(s)).toBe(frozen)
  })
})

describe('bus, event manager, wiring', () => {
  it('EventBus onKind/onAny return unsubscribe functions', async () => {
    const bus = new EventBus()
    const seen: string[] = []
    const off1 = bus.onKind('a', (e) => void seen.push(`kind:${e.kind}`))
    const off2 = bus.onAny((e) => void seen.push(`any:${e.kind}`))
    bus.publish({ kind: 'a', data: 1 })
    bus.publish({ kind: 'b', data: 1 })
    off1()
    off2()
    bus.publish({ kind: 'a', data: 1 })
    await new Promise((r) => setTimeout(r, 5))
    expect(seen.sort()).toEqual(['any:a', 'any:b', 'kind:a'])
  })

  it('a store given a bus publishes canonical records; wiring persists ingress events', async () => {
    const bus = new EventBus()
    const store = createMemoryStreamStore({ bus })
    const stored: EventRecord[] = []
    bus.onKind('note', (e) => void (e.id && stored.push(e as EventRecord)))
    const wiring = createFlowWiring({ bus, store, onError: () => {} })
    wiring.start()
    const manager = createEventManager({ bus, store })
    manager.publish({ kind: 'note', data: { n: 1 } }, { flow: 'run1', step: 's' })
    for (let i = 0; i < 50 && stored.length === 0; i++) await new Promise((r) => setTimeout(r, 5))
    expect(stored).toHaveLength(1)
    expect(stored[0]).toMatchObject({ kind: 'note', flow: 'run1', step: 's', data: { n: 1 } })
    expect(isEventId(stored[0]?.id)).toBe(true)
    const read = await store.read('run1')
    expect(read.map((e) => e.kind)).toEqual(['note'])
    await wiring.stop()
    await store.close()
  })
})
