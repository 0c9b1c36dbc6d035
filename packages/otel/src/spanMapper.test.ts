import { describe, expect, it } from 'vitest'
import { attemptSpanId, runSpanId, traceOf } from './ids.js'
import { SpanMapper } from './spanMapper.js'
import type { LeanflowEvent, SpanSpec, StartedEvent } from './types.js'

const T0 = Date.parse('2024-01-01T00:00:00.000Z')
const at = (ms: number) => new Date(T0 + ms).toISOString()
let seq = 0
const ev = (ms: number, kind: string, step?: string, data: unknown = {}, attempt?: number): LeanflowEvent => ({
  id: `${T0 + ms}-${seq++}`,
  ts: at(ms),
  kind,
  flow: 'r1',
  ...(step === undefined ? {} : { step }),
  data,
  ...(attempt === undefined ? {} : { meta: { attempt } }),
})
const TP = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
const started: StartedEvent = {
  ...ev(0, 'flow.started'),
  data: { name: 'order', steps: { charge: { needs: [] }, ship: { needs: ['charge'] } } },
  meta: { traceparent: TP },
}

/** Maps the log; the spans and measurements, all of them. */
function mapAll(mapper: SpanMapper, events: LeanflowEvent[]) {
  const spans: SpanSpec[] = []
  const measurements: Array<{ metric: string; value: number }> = []
  for (const e of events) {
    const out = mapper.map(e, started)
    spans.push(...out.spans)
    measurements.push(...out.measurements.map((m) => ({ metric: m.metric, value: m.value })))
  }
  return { spans, measurements }
}

describe('SpanMapper: the spans a run log maps to', () => {
  const trace = traceOf('r1', TP)
  const runSpan = runSpanId(trace.traceId, 'r1')

  it("a run span from flow.started to its end, parented to the caller's span; a span per attempt, a failed one ERROR; retry, await and resume as span events", () => {
    const { spans, measurements } = mapAll(new SpanMapper(), [
      started,
      ev(5, 'step.started', 'charge', {}, 1),
      ev(15, 'step.failed', 'charge', { error: 'card declined', willRetry: true, nextRetryAt: at(115) }, 1),
      ev(15, 'step.retry', 'charge', { reason: 'card declined', delayMs: 100 }, 2),
      ev(120, 'step.started', 'charge', {}, 2),
      ev(130, 'step.await.time', 'charge', { resumeAt: at(200), position: 0 }, 2),
      ev(205, 'step.resumed', 'charge', { reason: 'time', awaitType: 'time', awaitDuration: 75, position: 0 }, 2),
      ev(210, 'step.completed', 'charge', { duration: 90 }, 2),
      ev(212, 'step.started', 'ship', {}, 1),
      ev(220, 'step.completed', 'ship', { duration: 8 }, 1),
      ev(221, 'flow.completed', undefined, { duration: 221 }),
    ])
    expect(spans.map((s) => [s.name, s.attributes['leanflow.attempt'] ?? null, s.startTime - T0, s.endTime - T0, s.error ?? null])).toEqual(
      [
        ['step charge', 1, 5, 15, 'card declined'],
        ['step charge', 2, 120, 210, null],
        ['step ship', 1, 212, 220, null],
        ['run order', null, 0, 221, null],
      ],
    )
    const [fail, charge2, , run] = spans as [SpanSpec, SpanSpec, SpanSpec, SpanSpec]
    expect(run).toMatchObject({ traceId: trace.traceId, spanId: runSpan, parentSpanId: '00f067aa0ba902b7', traceFlags: 1 })
    expect(run.attributes).toEqual({ 'leanflow.run_id': 'r1', 'leanflow.flow': 'order', 'leanflow.status': 'completed' })
    expect(fail).toMatchObject({ spanId: attemptSpanId(trace.traceId, 'r1', 'charge', 1), parentSpanId: runSpan })
    expect(fail.attributes).toMatchObject({
      'leanflow.run_id': 'r1',
      'leanflow.flow': 'order',
      'leanflow.step': 'charge',
      'leanflow.will_retry': true,
    })
    // the failure as span.recordException records it (error-tracking views look for it), then the retry
    expect(fail.events.map((e) => [e.name, e.attributes])).toEqual([
      ['exception', { 'exception.message': 'card declined' }],
      ['step.retry', { 'leanflow.nextRetryAt': at(115) }],
    ])
    expect(charge2.events.map((e) => [e.name, e.time - T0])).toEqual([
      ['step.retry', 15],
      ['step.await.time', 130],
      ['step.resumed', 205],
    ])
    expect(charge2.events[0]?.attributes).toEqual({ 'leanflow.reason': 'card declined', 'leanflow.delayMs': 100 })
    const byMetric = (m: string) => measurements.filter((x) => x.metric === m).map((x) => x.value)
    expect(byMetric('leanflow.runs.started')).toEqual([1])
    expect(byMetric('leanflow.runs.completed')).toEqual([1])
    expect(byMetric('leanflow.step.attempts')).toEqual([1, 1, 1])
    expect(byMetric('leanflow.step.duration')).toEqual([10, 90, 8])
    // charge 1: flow.started → 5; charge 2: due at 15 + 100 → started 120; ship: charge completed 210 → 212
    expect(byMetric('leanflow.step.queue_lag')).toEqual([5, 5, 2])
  })

  it('a resume in a process that saw neither the start nor the await: the await from awaitDuration, the start from step.completed', () => {
    const { spans } = mapAll(new SpanMapper(), [
      ev(500, 'step.resumed', 'charge', { reason: 'event', awaitType: 'event', awaitDuration: 400 }, 1),
      ev(520, 'step.completed', 'charge', { duration: 515 }, 1),
    ])
    expect(spans).toHaveLength(1)
    expect(spans[0]?.startTime).toBe(T0 + 5)
    expect(spans[0]?.events.map((e) => [e.name, e.time - T0])).toEqual([
      ['step.await.event', 100],
      ['step.resumed', 500],
    ])
  })

  it('a resume of an await another process recorded adds that await, though this process saw an earlier await of the step', () => {
    // this process: the start and the first await (a timer); another resumed the timer and awaited an event (position 1); this one resumes that
    const { spans } = mapAll(new SpanMapper(), [
      ev(5, 'step.started', 'charge', {}, 1),
      ev(10, 'step.await.time', 'charge', { resumeAt: at(50), position: 0 }, 1),
      ev(300, 'step.resumed', 'charge', { reason: 'event received', awaitType: 'event', awaitDuration: 200, position: 1 }, 1),
      ev(310, 'step.completed', 'charge', { duration: 305 }, 1),
    ])
    expect(spans[0]?.events.map((e) => [e.name, e.time - T0])).toEqual([
      ['step.await.time', 10],
      ['step.await.event', 100],
      ['step.resumed', 300],
    ])
    // the same process saw both awaits: each once
    const { spans: local } = mapAll(new SpanMapper(), [
      ev(5, 'step.started', 'charge', {}, 1),
      ev(10, 'step.await.time', 'charge', { resumeAt: at(50), position: 0 }, 1),
      ev(55, 'step.resumed', 'charge', { reason: 'time elapsed', awaitType: 'time', awaitDuration: 45, position: 0 }, 1),
      ev(100, 'step.await.event', 'charge', { eventKind: 'paid', position: 1 }, 1),
      ev(300, 'step.resumed', 'charge', { reason: 'event received', awaitType: 'event', awaitDuration: 200, position: 1 }, 1),
      ev(310, 'step.completed', 'charge', { duration: 305 }, 1),
    ])
    expect(local[0]?.events.map((e) => e.name)).toEqual(['step.await.time', 'step.resumed', 'step.await.event', 'step.resumed'])
  })

  it("an await's fields are its event's attributes, never a trigger's payload (the user's data, of any size)", () => {
    const { spans } = mapAll(new SpanMapper(), [
      ev(5, 'step.started', 'charge', {}, 1),
      ev(
        10,
        'step.await.trigger',
        'charge',
        { triggerId: 't1', triggerType: 'approve', payload: 'card 4111 1111 1111 1111', position: 0 },
        1,
      ),
      ev(20, 'step.resumed', 'charge', { reason: 'trigger resolved', awaitType: 'trigger', awaitDuration: 10, position: 0 }, 1),
      ev(30, 'step.completed', 'charge', { duration: 25 }, 1),
    ])
    expect(spans[0]?.events[0]).toMatchObject({ name: 'step.await.trigger' })
    expect(spans[0]?.events[0]?.attributes).toEqual({
      'leanflow.triggerId': 't1',
      'leanflow.triggerType': 'approve',
      'leanflow.position': 0,
    })
  })

  it('a rerun: a copied step ran no attempt (no span, no duration sample); the steps that need it are due from its copy', () => {
    const { spans, measurements } = mapAll(new SpanMapper(), [
      started,
      ev(1, 'step.completed', 'charge', { result: 'ch_1', duration: 0, copied: true }, 1),
      ev(4, 'step.started', 'ship', {}, 1),
      ev(10, 'step.completed', 'ship', { duration: 6 }, 1),
      ev(11, 'flow.completed', undefined, { duration: 11 }),
    ])
    expect(spans.map((s) => s.name)).toEqual(['step ship', 'run order'])
    const byMetric = (m: string) => measurements.filter((x) => x.metric === m).map((x) => x.value)
    expect(byMetric('leanflow.step.duration')).toEqual([6])
    expect(byMetric('leanflow.step.attempts')).toEqual([1])
    expect(byMetric('leanflow.step.queue_lag')).toEqual([3])
  })

  it('a failed run: its span ERROR; an attempt still open here ends with the run; a run without traceparent is a root in a trace of its own', () => {
    const plain: StartedEvent = { ...started, meta: {} }
    const mapper = new SpanMapper()
    const out = [ev(1, 'step.started', 'charge', {}, 1), ev(9, 'flow.failed', undefined, { error: 'boom', duration: 9 })].flatMap(
      (e) => mapper.map(e, plain).spans,
    )
    expect(out.map((s) => s.name)).toEqual(['run order', 'step charge'])
    const [run, step] = out as [SpanSpec, SpanSpec]
    expect(run.error).toBe('boom')
    expect(run.events).toEqual([{ name: 'exception', time: T0 + 9, attributes: { 'exception.message': 'boom' } }])
    expect(run.parentSpanId).toBeUndefined()
    expect(run.traceId).toBe(traceOf('r1', undefined).traceId)
    expect(step.events.at(-1)?.name).toBe('leanflow.step.ended_with_run')
    expect(step.endTime - T0).toBe(9)
  })

  it('a run end told the attempts it cut off: a span for each, seen here or not, running or suspended; a stale suspended one seen here is not cut off twice', () => {
    const mapper = new SpanMapper()
    mapAll(mapper, [
      started,
      ev(5, 'step.started', 'charge', {}, 1),
      ev(10, 'step.await.event', 'charge', { eventKind: 'paid', position: 0 }, 1),
    ])
    // another process resumed and completed charge; ship (attempt 2) was suspended there when this one canceled the run
    // its await was recorded there: the end tells it, so the span has its step.await.* as if seen here
    const info = {
      open: [{ step: 'ship', attempt: 2, startedAt: at(40), suspended: true, awaits: [{ type: 'trigger', position: 1, since: at(45) }] }],
    }
    const { spans } = mapper.map(ev(100, 'flow.canceled', undefined, { reason: 'operator' }), started, info)
    expect(spans.map((s) => [s.name, s.attributes['leanflow.attempt'] ?? null, s.startTime - T0, s.endTime - T0])).toEqual([
      ['run order', null, 0, 100],
      ['step ship', 2, 40, 100],
    ])
    const [, ship] = spans as [SpanSpec, SpanSpec]
    expect(ship.parentSpanId).toBe(runSpan)
    expect(ship.spanId).toBe(attemptSpanId(trace.traceId, 'r1', 'ship', 2))
    expect(ship.error).toBeUndefined()
    expect(ship.attributes['leanflow.ended_with_run']).toBe('canceled')
    expect(ship.events.map((e) => [e.name, e.time - T0, e.attributes])).toEqual([
      ['step.await.trigger', 45, { 'leanflow.position': 1 }],
      ['leanflow.step.ended_with_run', 100, { 'leanflow.status': 'canceled', 'leanflow.suspended': true }],
    ])
  })

  it('an await told by the run end that was seen here is not added twice', () => {
    const mapper = new SpanMapper()
    mapAll(mapper, [
      started,
      ev(5, 'step.started', 'charge', {}, 1),
      ev(10, 'step.await.event', 'charge', { eventKind: 'paid', position: 0 }, 1),
    ])
    const info = {
      open: [{ step: 'charge', attempt: 1, startedAt: at(5), suspended: true, awaits: [{ type: 'event', position: 0, since: at(10) }] }],
    }
    const { spans } = mapper.map(ev(100, 'flow.canceled', undefined, {}), started, info)
    expect(spans[1]?.events.map((e) => [e.name, e.time - T0])).toEqual([
      ['step.await.event', 10],
      ['leanflow.step.ended_with_run', 100],
    ])
  })
})
