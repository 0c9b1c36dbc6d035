import { describe, expect, it } from 'vitest'
import { isLeanflowError } from './errors.js'
import type { EventRecord } from './events.js'
import { ev } from './internal/testEvents.js'
import { reduceFlow } from './reduceFlow.js'

const log = [
  ev(10, 'flow.started', {
    name: 'order',
    version: 2,
    input: {},
    steps: { a: { needs: [] }, b: { needs: ['a'] } },
    rerunOf: { runId: 'r0', from: 'b' },
  }),
  ev(20, 'step.started', {}, 'a'),
  ev(30, 'step.completed', { result: 1, duration: 5 }, 'a'),
  ev(40, 'step.started', {}, 'b'),
  ev(50, 'step.failed', { error: 'boom', willRetry: false }, 'b'),
  ev(60, 'flow.failed', { error: 'boom', duration: 50 }),
]

describe('reduceFlow: until (time travel)', () => {
  it('folds the events at or before until; an id between two events gives the state after the earlier one', () => {
    expect(reduceFlow(log, { until: '30-0' }).steps.a?.status).toBe('completed')
    expect(reduceFlow(log, { until: '30-0' }).steps.b?.status).toBe('pending')
    const between = reduceFlow(log, { until: '45-7' })
    expect(between.steps.b?.status).toBe('running')
    expect(between.lastEventId).toBe('40-0')
    expect(reduceFlow(log, { until: '9-0' }).status).toBe('pending')
    expect(reduceFlow(log, { until: '60-0' })).toEqual(reduceFlow(log))
    expect(reduceFlow([...log].reverse(), { until: '45-0' })).toEqual(reduceFlow(log.slice(0, 4)))
  })

  it('refuses an until that is not an event id, naming it', () => {
    try {
      reduceFlow(log, { until: 'yesterday' })
      expect.unreachable()
    } catch (err) {
      expect(isLeanflowError(err, 'INVALID_ARGUMENT')).toBe(true)
      expect(String(err)).toContain('"yesterday"')
    }
  })

  it('keeps flow.started data.version and data.rerunOf; a copied step.completed marks its step copied', () => {
    const s = reduceFlow(log)
    expect(s.version).toBe(2)
    expect(s.rerunOf).toEqual({ runId: 'r0', from: 'b' })
    expect(s.steps.a).not.toHaveProperty('copied')
    const copied = reduceFlow([log[0] as EventRecord, ev(15, 'step.completed', { result: 1, duration: 0, copied: true }, 'a')])
    expect(copied.steps.a).toMatchObject({ status: 'completed', result: 1, copied: true })
  })
})
