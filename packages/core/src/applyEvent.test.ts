import { describe, expect, it } from 'vitest'
import { applyEvent } from './applyEvent.js'
import type { EventRecord } from './events.js'
import { emptyFlowState, type FlowState } from './flowState.js'
import { reduceFlow } from './reduceFlow.js'

function ev(n: number, kind: string, data: unknown, step?: string, attempt?: number): EventRecord {
  const e: EventRecord = { id: `${n}-0`, ts: new Date(1_764_000_000_000 + n).toISOString(), kind, flow: 'run-1', data }
  if (step !== undefined) e.step = step
  if (attempt !== undefined) e.meta = { attempt }
  return e
}
const log = (n: number, msg: string) => ev(n, 'log', { level: 'info', msg })

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    Object.freeze(v)
    for (const k of Reflect.ownKeys(v)) deepFreeze((v as Record<PropertyKey, unknown>)[k])
  }
  return v
}
const fold = (events: EventRecord[], from: FlowState = emptyFlowState()) => events.reduce(applyEvent, from)
/** A plain, getter-free copy, to compare states as data. */
const data = (s: FlowState) => JSON.parse(JSON.stringify(s)) as unknown

const sample = (): EventRecord[] => [
  ev(1, 'flow.started', { name: 'order', input: { id: 1 }, steps: { a: { needs: [] }, b: { needs: ['a'] } } }),
  ev(2, 'step.started', {}, 'a', 1),
  log(3, 'one'),
  ev(4, 'state.set', { key: 'k', value: 1 }, 'a'),
  ev(5, 'step.failed', { error: 'e', willRetry: true, nextRetryAt: 'T' }, 'a', 1),
  ev(6, 'step.retry', { reason: 'e', delayMs: 10 }, 'a', 2),
  ev(7, 'step.started', {}, 'a', 2),
  ev(8, 'step.completed', { result: 1, duration: 2 }, 'a', 2),
  ev(9, 'step.started', {}, 'b', 1),
  ev(10, 'step.await.trigger', { triggerId: 't', triggerType: 'webhook' }, 'b', 1),
  log(11, 'two'),
  ev(12, 'step.resumed', { reason: 'trigger', awaitType: 'trigger', awaitDuration: 1 }, 'b', 1),
  ev(13, 'step.completed', { result: 2, duration: 3 }, 'b', 1),
  ev(14, 'flow.completed', { result: { b: 2 }, duration: 14 }),
]

describe('applyEvent', () => {
  it('folding a log in id order equals reduceFlow, at every prefix', () => {
    const events = sample()
    let s = emptyFlowState()
    for (let i = 0; i < events.length; i++) {
      s = applyEvent(s, events[i]!)
      expect(s).toStrictEqual(reduceFlow(events.slice(0, i + 1)))
    }
    expect(s.status).toBe('completed')
  })

  it('returns the same state object for a duplicate, an older id, or a non-event', () => {
    const s = fold(sample().slice(0, 5))
    expect(applyEvent(s, ev(5, 'log', { msg: 'dup' }))).toBe(s)
    expect(applyEvent(s, ev(2, 'flow.failed', { error: 'late' }))).toBe(s)
    expect(applyEvent(s, { ...ev(6, 'log', {}), id: '0005-0' })).toBe(s)
    expect(applyEvent(s, null as never)).toBe(s)
    expect(applyEvent(s, { ...ev(6, 'log', {}), id: 'garbage' })).toBe(s)
  })

  it('compares ids numerically: 10-0 comes after 9-0', () => {
    const s = applyEvent(fold([{ ...log(1, 'nine'), id: '9-0' }]), { ...log(2, 'ten'), id: '10-0' })
    expect(s.logs.map((l) => l.msg)).toEqual(['nine', 'ten'])
  })

  it('never mutates a deep-frozen prior state or event', () => {
    const events = sample()
    let s = emptyFlowState()
    for (const e of events) {
      deepFreeze(s) // reads (and so freezes) its logs and state too
      const before = data(s)
      s = applyEvent(s, deepFreeze(e))
      expect(data(s)).not.toEqual(before)
    }
    expect(data(s)).toEqual(data(reduceFlow(sample())))
  })

  it('branches: two events folded into the same unread state give independent states', () => {
    const s1 = fold([log(1, 'a')])
    const left = applyEvent(s1, log(2, 'left'))
    const right = applyEvent(s1, log(3, 'right'))
    const leftMore = applyEvent(left, log(4, 'more'))
    expect(right.logs.map((l) => l.msg)).toEqual(['a', 'right'])
    expect(left.logs.map((l) => l.msg)).toEqual(['a', 'left'])
    expect(leftMore.logs.map((l) => l.msg)).toEqual(['a', 'left', 'more'])
    expect(s1.logs.map((l) => l.msg)).toEqual(['a'])
  })

  it('an older state never shows newer log entries or state keys, whether read before or after', () => {
    const s1 = fold([log(1, 'a'), ev(2, 'state.set', { key: 'x', value: 1 })])
    const s2 = applyEvent(applyEvent(s1, log(3, 'b')), ev(4, 'state.set', { key: 'y', value: 2 }))
    expect(s1.logs.map((l) => l.msg)).toEqual(['a'])
    expect({ ...s1.state }).toEqual({ x: 1 })
    expect(s2.logs.map((l) => l.msg)).toEqual(['a', 'b'])
    expect({ ...s2.state }).toEqual({ x: 1, y: 2 })
    // branch from s1 after s2 exists, and from s2 after its logs were handed out
    const other = applyEvent(s1, log(5, 'c'))
    const s3 = applyEvent(s2, log(5, 'd'))
    expect(other.logs.map((l) => l.msg)).toEqual(['a', 'c'])
    expect(s3.logs.map((l) => l.msg)).toEqual(['a', 'b', 'd'])
    expect(s2.logs.map((l) => l.msg)).toEqual(['a', 'b'])
    expect(s1.logs.map((l) => l.msg)).toEqual(['a'])
  })

  it('shares unchanged parts: the steps map and step objects survive a log event', () => {
    const s = fold(sample().slice(0, 2))
    const next = applyEvent(s, log(3, 'x'))
    expect(next).not.toBe(s)
    expect(next.steps).toBe(s.steps)
    const after = applyEvent(next, ev(4, 'step.started', {}, 'b', 1))
    expect(after.steps).not.toBe(next.steps)
    expect(after.steps.a).toBe(next.steps.a)
  })

  it('keeps state.set O(1) per event with many keys, and equal to reduceFlow', () => {
    const events: EventRecord[] = []
    for (let i = 1; i <= 600; i++) {
      const key = i % 3 === 0 ? `k${i % 50}` : `key-${i}`
      events.push(ev(i, 'state.set', { key, value: i % 7 === 0 ? undefined : { i } }))
    }
    const states: FlowState[] = []
    let s = emptyFlowState()
    for (const e of events) states.push((s = applyEvent(s, e)))
    expect(s).toStrictEqual(reduceFlow(events))
    // every intermediate state still shows exactly its own prefix
    for (const i of [0, 31, 32, 33, 100, 350, 599]) expect(data(states[i]!)).toEqual(data(reduceFlow(events.slice(0, i + 1))))
  })

  it('continues from a state that went through JSON (e.g. GET /runs/:runId) as if it never left', () => {
    const events = sample()
    for (const cut of [0, 3, 5, 10, 13]) {
      const remote = JSON.parse(JSON.stringify(fold(events.slice(0, cut + 1)))) as FlowState
      const s = fold(events.slice(cut + 1), deepFreeze(remote))
      expect(data(s)).toEqual(data(reduceFlow(events)))
    }
  })

  it('gives a state from JSON null-prototype steps and state again', () => {
    const remote = JSON.parse(
      '{"status":"running","steps":{"a":{"name":"a","status":"running","attempt":1}},"state":{"k":1},"logs":[],"lastEventId":"5-0"}',
    )
    const s = applyEvent(remote as FlowState, log(6, 'x'))
    expect(Object.getPrototypeOf(s.steps)).toBeNull()
    expect(Object.getPrototypeOf(s.state)).toBeNull()
    expect(s.steps.constructor).toBeUndefined()
    expect({ ...s.state }).toEqual({ k: 1 })
    expect(s.steps.a?.status).toBe('running')
    expect(applyEvent(remote as FlowState, log(5, 'stale'))).toBe(remote)
  })

  it('treats a missing or garbage state as empty, and any step name as a new step', () => {
    expect(applyEvent(null as never, log(1, 'x')).logs).toHaveLength(1)
    const s = applyEvent(emptyFlowState(), ev(1, 'step.await.time', { resumeAt: 'T' }, 'ghost', 3))
    const a = { type: 'time', until: 'T' }
    expect(s.steps.ghost).toEqual({ name: 'ghost', status: 'awaiting', attempt: 3, awaiting: a, pending: [a] })
    expect(s.status).toBe('pending')
  })

  it('emptyFlowState gives independent states', () => {
    const a = emptyFlowState()
    const b = emptyFlowState()
    applyEvent(a, log(1, 'only a'))
    expect(b.logs).toEqual([])
    expect(data(a)).toEqual({ status: 'pending', steps: {}, state: {}, logs: [] })
  })
})
