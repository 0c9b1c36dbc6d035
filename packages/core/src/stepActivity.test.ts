import { describe, expect, it } from 'vitest'
import type { EventRecord } from './events.js'
import { reduceFlow } from './reduceFlow.js'
import { stepActivity } from './stepActivity.js'

const started: EventRecord = {
  id: '1-0',
  ts: '2026-12-04T00:00:00.001Z',
  kind: 'flow.started',
  flow: 'r',
  data: { name: 'f', input: null, steps: { s: { needs: [] } } },
}
const stepEvent = (kind: string, data: unknown): EventRecord => ({
  id: '3-0',
  ts: '2026-12-04T00:00:00.003Z',
  kind,
  flow: 'r',
  step: 's',
  data,
  meta: { attempt: 1 },
})
const running: EventRecord = {
  id: '2-0',
  ts: '2026-12-04T00:00:00.002Z',
  kind: 'step.started',
  flow: 'r',
  step: 's',
  data: {},
  meta: { attempt: 1 },
}

describe('stepActivity agrees with the reducer', () => {
  const cases: Array<[string, unknown]> = [
    ['step.started', {}],
    ['step.started', { recovered: true }],
    ['step.completed', { duration: 1 }],
    ['step.failed', { error: 'x', willRetry: true }],
    ['step.failed', { error: 'x', willRetry: false }],
    ['step.retry', { reason: 'x', delayMs: 5 }],
    ['step.await.time', { resumeAt: '2026-12-05T00:00:00.000Z' }],
    ['step.await.event', { eventKind: 'k' }],
    ['step.await.trigger', { triggerId: 't', triggerType: 'webhook' }],
    ['step.await.run', { childRunId: 'c', flow: 'invoice', position: 0 }],
    ['step.resumed', { reason: 'x', awaitType: 'time', awaitDuration: 1 }],
    ['step.await.timeout', { awaitType: 'event', timeoutAt: '2026-12-05T00:00:00.000Z' }],
    ['step.queued', { reason: 'concurrency', key: 'k' }],
  ]
  it.each(cases)('%s %j', (kind, data) => {
    const e = stepEvent(kind, data)
    const status = reduceFlow([started, running, e]).steps.s?.status
    const want =
      status === 'running' || status === 'retrying' || status === 'queued' ? 'active' : status === 'awaiting' ? 'awaiting' : 'done'
    expect(stepActivity(e)).toBe(want)
  })

  it('is undefined for run-scoped and user events', () => {
    expect(stepActivity({ kind: 'log', step: 's', data: { msg: 'x' } })).toBeUndefined()
    expect(stepActivity({ kind: 'payment.confirmed', step: 's', data: {} })).toBeUndefined()
    expect(stepActivity({ kind: 'step.started', data: {} })).toBeUndefined()
  })
})
