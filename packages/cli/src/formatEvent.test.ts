import { type EventRecord, reduceFlow } from '@leanflow/core'
import { describe, expect, it } from 'vitest'
import { createColors } from './colors.js'
import { formatEvent, summarize } from './formatEvent.js'
import { formatState } from './formatState.js'

const plain = createColors(false)
const at = (n: number) => new Date(Date.UTC(2026, 11, 4, 10, 0, 0, n)).toISOString()
const ev = (n: number, kind: string, data: unknown, step?: string): EventRecord =>
  step === undefined ? { id: `${n}-0`, ts: at(n), kind, flow: 'r1', data } : { id: `${n}-0`, ts: at(n), kind, flow: 'r1', step, data }

describe('flow control events and states', () => {
  it('summarizes flow.queued, flow.debounced and step.queued on one line', () => {
    expect(summarize(ev(1, 'flow.queued', { reason: 'rateLimit', key: 'api-1', until: at(900) }))).toBe(
      `rateLimit  key api-1  until ${at(900)}`,
    )
    expect(summarize(ev(2, 'flow.debounced', { input: { userId: 'u1' }, until: at(950) }))).toBe(`input {"userId":"u1"}  until ${at(950)}`)
    expect(summarize(ev(3, 'step.queued', { reason: 'concurrency' }, 'call'))).toBe('concurrency')
    expect(formatEvent(ev(3, 'step.queued', { reason: 'concurrency', key: 't1' }, 'call'), plain)).toBe(
      '10:00:00.003 step.queued        call         concurrency  key t1',
    )
  })

  it('show names why a queued run and a queued step wait', () => {
    const state = reduceFlow([
      ev(1, 'flow.started', { name: 'sync', input: {}, steps: { call: { needs: [] } } }),
      ev(2, 'flow.queued', { reason: 'debounce', key: 'u1', until: at(5000) }),
      ev(3, 'step.queued', { reason: 'concurrency', key: 'api' }, 'call'),
    ])
    const out = formatState('r1', state, plain, Date.parse(at(10)))
    expect(out).toContain('run       r1  sync  queued')
    expect(out).toContain('queued    debounce (key u1) until 2026-12-04 10:00:05.000')
    expect(out).toMatch(/call\s+queued\s+0\s+-\s+concurrency \(key api\)/)
  })
})

describe('child runs and parallel awaits', () => {
  it('summarizes step.await.run, and show lists every pending await of a step', () => {
    expect(summarize(ev(1, 'step.await.run', { childRunId: 'c1', flow: 'invoice', position: 0 }, 'bill'))).toBe('child c1 (invoice)')
    const state = reduceFlow([
      ev(1, 'flow.started', { name: 'order', input: {}, steps: { bill: { needs: [] } } }),
      ev(2, 'step.started', {}, 'bill'),
      ev(3, 'step.await.run', { childRunId: 'c1', flow: 'invoice', position: 0 }, 'bill'),
      ev(4, 'step.await.event', { eventKind: 'paid', position: 1 }, 'bill'),
    ])
    const out = formatState('r1', state, plain, Date.parse(at(10)))
    expect(out).toContain('child c1 (invoice); event paid')
    expect(out).toContain('leanflow show c1')
  })
})
