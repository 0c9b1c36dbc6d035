import { attemptSpanId, runSpanId, traceOf } from './ids.js'
import { PerRun } from './perRun.js'
import type { AttributeValue, EventInfo, LeanflowEvent, Measurement, SpanEventSpec, SpanSpec, StartedEvent } from './types.js'

const MAX_OPEN = 10_000

/** What this process knows of one step attempt until the event that ends it. */
interface Attempt {
  start?: number
  /** When the attempt was due (a retry's time): queue lag is measured from it. */
  due?: number
  events: SpanEventSpec[]
}

/** What one event maps to: the spans it ends and the measurements it makes. */
export interface Mapped {
  spans: SpanSpec[]
  measurements: Measurement[]
}

/**
 * Maps the events one process appended to spans and measurements, with no OpenTelemetry
 * dependency (pure but for its bounded memory of open attempts):
 *
 * - a run's span (`run <flow>`) is emitted with its terminal event, from `flow.started`'s time;
 * - a step attempt's span (`step <step>`) with its `step.completed` (start: its time less
 *   `duration`) or `step.failed` (status ERROR; start: the `step.started` this process saw);
 *   a step a rerun copied (`step.completed` with `data.copied`) ran no attempt: no span; an
 *   attempt the run's end cut off (running or suspended, here or elsewhere) with the run's end;
 * - `step.retry`, `step.await.*`, `step.resumed`, `step.await.timeout` are span events of the
 *   attempt they name; a `step.failed` that will retry adds `step.retry` to the failed attempt. A resume in a process that did not see the await adds the await's event
 *   itself (one it did not see: by type and call position), at the resume's time less `awaitDuration`;
 *   a run's end adds those of the attempts it cut off (the runner tells them: `info.open[].awaits`).
 *
 * @example
 * ```ts
 * const mapper = new SpanMapper()
 * const { spans, measurements } = mapper.map(event, started)
 * ```
 */
export class SpanMapper {
  /** Per run, `step attempt` → what this process knows of that attempt until its end. */
  private readonly open = new PerRun<Attempt>(MAX_OPEN)
  /** Per run, step → when this process saw the step complete (queue lag of the steps that need it). */
  private readonly completed = new PerRun<number>(MAX_OPEN)

  /**
   * The spans `event` ends and its measurements; `started` is its run's `flow.started`, `info` what
   * the runner told beside it (a terminal event's cut-off attempts, a `step.failed`'s start).
   */
  map(event: LeanflowEvent, started: StartedEvent, info?: EventInfo): Mapped {
    const out: Mapped = { spans: [], measurements: [] }
    const flow = started.data.name
    const runId = event.flow
    const ts = Date.parse(event.ts)
    const runAttrs = { 'leanflow.flow': flow }
    const { kind, step } = event
    if (kind === 'flow.started') out.measurements.push({ metric: 'leanflow.runs.started', value: 1, attributes: runAttrs })
    else if (kind === 'flow.completed' || kind === 'flow.failed' || kind === 'flow.canceled')
      this.endRun(out, event, started, ts, info?.open)
    if (step === undefined || !kind.startsWith('step.')) return out
    const data = (event.data ?? {}) as Record<string, unknown>
    if (kind === 'step.completed' && data.copied === true) {
      // a rerun's copy of a step the old run completed: no attempt ran, so no span and no duration;
      // the steps that need it are due from it all the same (queue lag)
      this.completed.set(runId, step, ts)
      return out
    }
    const attempt = event.meta?.attempt ?? 1
    const stepAttrs = { 'leanflow.flow': flow, 'leanflow.step': step }
    const rec = this.attempt(runId, step, attempt)
    switch (kind) {
      case 'step.started': {
        rec.start ??= ts
        if (data.recovered === true) {
          rec.events.push({ name: 'leanflow.step.recovered', time: ts, attributes: {} })
          break
        }
        out.measurements.push({ metric: 'leanflow.step.attempts', value: 1, attributes: stepAttrs })
        const due = attempt > 1 ? rec.due : this.readyAt(runId, step, started)
        if (due !== undefined)
          out.measurements.push({ metric: 'leanflow.step.queue_lag', value: Math.max(0, ts - due), attributes: stepAttrs })
        break
      }
      case 'step.retry':
        rec.due = ts + (Number(data.delayMs) || 0)
        rec.events.push({ name: kind, time: ts, attributes: primitives(data, ['reason', 'delayMs']) })
        break
      case 'step.resumed': {
        const waited = Number(data.awaitDuration)
        const awaitType = String(data.awaitType)
        // the await it resumes, unless seen here (by its type and call position): another process may have recorded it
        if (Number.isFinite(waited)) {
          rec.start ??= ts - waited
          addAwait(rec, `step.await.${awaitType}`, data.position, ts - waited)
        }
        rec.events.push({ name: kind, time: ts, attributes: primitives(data, ['reason', 'awaitType', 'awaitDuration', 'position']) })
        break
      }
      case 'step.completed':
      case 'step.failed': {
        const failed = kind === 'step.failed'
        const duration = Number(data.duration)
        // a failure carries no duration: the attempt's start as the runner tells it, else as seen here
        const told = Date.parse(info?.attemptStartedAt ?? '')
        const start = !failed && Number.isFinite(duration) ? ts - duration : Number.isFinite(told) ? told : (rec.start ?? ts)
        const span = this.attemptSpan(event, started, step, attempt, start, ts, rec)
        if (failed) {
          span.error = String(data.error)
          // as span.recordException would: error-tracking views look for the `exception` event
          span.events.push(exceptionEvent(span.error, ts))
          span.attributes['leanflow.will_retry'] = data.willRetry === true
          // the retry shows on the failed attempt (its step.retry, written next by this process, on the next one)
          if (data.willRetry === true) span.events.push({ name: 'step.retry', time: ts, attributes: primitives(data, ['nextRetryAt']) })
        }
        out.spans.push(span)
        out.measurements.push({
          metric: 'leanflow.step.duration',
          value: ts - start,
          attributes: { ...stepAttrs, 'leanflow.outcome': failed ? 'failed' : 'completed' },
        })
        this.open.delete(runId, keyOf(step, attempt))
        if (!failed) this.completed.set(runId, step, ts)
        break
      }
      default:
        // step.await.time|event|trigger|run, step.await.timeout, step.queued
        rec.events.push({ name: kind, time: ts, attributes: primitives(data) })
        // a step.await.run's `flow` is the child's: leanflow.flow names the run's own flow everywhere else
        if (kind === 'step.await.run') renameAttribute(rec.events.at(-1)?.attributes, 'leanflow.flow', 'leanflow.child_flow')
    }
    return out
  }

  /**
   * The run's span, and the spans of the attempts its end cut off (ended with it): those `open`
   * names, wherever they ran, running or suspended — or, told none, those still running here.
   */
  private endRun(out: Mapped, event: LeanflowEvent, started: StartedEvent, ts: number, open: EventInfo['open']): void {
    const runId = event.flow
    const flow = started.data.name
    const trace = traceOf(runId, started.meta?.traceparent)
    const status = event.kind.slice('flow.'.length)
    const data = (event.data ?? {}) as Record<string, unknown>
    const span: SpanSpec = {
      name: `run ${flow}`,
      traceId: trace.traceId,
      spanId: runSpanId(trace.traceId, runId),
      traceFlags: trace.traceFlags,
      startTime: Date.parse(started.ts),
      endTime: ts,
      attributes: { 'leanflow.run_id': runId, 'leanflow.flow': flow, 'leanflow.status': status },
      events: [],
    }
    if (trace.parentSpanId) span.parentSpanId = trace.parentSpanId
    if (event.kind === 'flow.failed') {
      span.error = String(data.error)
      span.events.push(exceptionEvent(span.error, ts))
    }
    if (event.kind === 'flow.canceled' && data.reason !== undefined) span.attributes['leanflow.cancel_reason'] = String(data.reason)
    out.spans.push(span)
    out.measurements.push({ metric: `leanflow.runs.${status}` as Measurement['metric'], value: 1, attributes: { 'leanflow.flow': flow } })
    const seen = this.open.take(runId)
    const cut = (step: string, attempt: number, start: number, rec: Attempt, suspended: boolean) => {
      const s = this.attemptSpan(event, started, step, attempt, start, ts, rec)
      s.attributes['leanflow.ended_with_run'] = status
      s.events.push({
        name: 'leanflow.step.ended_with_run',
        time: ts,
        attributes: { 'leanflow.status': status, 'leanflow.suspended': suspended },
      })
      out.spans.push(s)
    }
    if (open) {
      // the runner names the attempts cut off, wherever they ran and whether running or suspended
      for (const a of open) {
        const rec = seen.get(keyOf(a.step, a.attempt)) ?? { events: [] }
        for (const w of a.awaits ?? []) addAwait(rec, `step.await.${w.type}`, w.position, Date.parse(w.since))
        const at = Date.parse(a.startedAt)
        cut(a.step, a.attempt, Number.isFinite(at) ? at : (rec.start ?? ts), rec, a.suspended)
      }
    } else {
      for (const [key, rec] of seen) {
        // told nothing: an attempt cut off by the run's end, running here (not suspended: a suspended
        // one may have been resumed and ended by another process); in a completed run every attempt ended already
        if (rec.start === undefined || event.kind === 'flow.completed' || rec.events.at(-1)?.name.startsWith('step.await.')) continue
        const [step = '', attempt = '1'] = key.split('\u0000')
        cut(step, Number(attempt), rec.start, rec, false)
      }
    }
    this.completed.take(runId)
  }

  private attemptSpan(
    event: LeanflowEvent,
    started: StartedEvent,
    step: string,
    attempt: number,
    start: number,
    end: number,
    rec: Attempt,
  ): SpanSpec {
    const runId = event.flow
    const trace = traceOf(runId, started.meta?.traceparent)
    return {
      name: `step ${step}`,
      traceId: trace.traceId,
      spanId: attemptSpanId(trace.traceId, runId, step, attempt),
      parentSpanId: runSpanId(trace.traceId, runId),
      traceFlags: trace.traceFlags,
      startTime: start,
      endTime: Math.max(start, end),
      attributes: { 'leanflow.run_id': runId, 'leanflow.flow': started.data.name, 'leanflow.step': step, 'leanflow.attempt': attempt },
      events: rec.events,
    }
  }

  /** The attempt's record (created, bounded: the oldest goes first). */
  private attempt(runId: string, step: string, attempt: number): Attempt {
    const key = keyOf(step, attempt)
    let rec = this.open.get(runId, key)
    if (!rec) {
      rec = { events: [] }
      this.open.set(runId, key, rec)
    }
    return rec
  }

  /** When a first attempt became ready: the run's start, or the last completion of its needs (undefined: not all seen here). */
  private readyAt(runId: string, step: string, started: StartedEvent): number | undefined {
    let at = Date.parse(started.ts)
    for (const need of started.data.steps?.[step]?.needs ?? []) {
      const done = this.completed.get(runId, need)
      if (done === undefined) return undefined
      at = Math.max(at, done)
    }
    return at
  }
}

/** An attempt's key within its run. */
function keyOf(step: string, attempt: number): string {
  return `${step}\u0000${attempt}`
}

/** Fields of an event's data that hold the user's own data (a trigger's payload: any content, up to the store's event limit): never attributes. */
const USER_DATA = new Set(['payload'])

/** `data`'s string, number and boolean fields (those named in `only`, when given; never the user's data) as `leanflow.*` attributes. */
function primitives(data: Record<string, unknown>, only?: readonly string[]): Record<string, AttributeValue> {
  const attrs: Record<string, AttributeValue> = {}
  for (const key of only ?? Object.keys(data)) {
    if (USER_DATA.has(key)) continue
    const v = data[key]
    if (typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v))) attrs[`leanflow.${key}`] = v
  }
  return attrs
}

/** Adds the `step.await.*` span event `name` of call position `position` at `time`, unless the attempt has it already (another process may have recorded the await). */
function addAwait(rec: Attempt, name: string, position: unknown, time: number): void {
  const at = primitives({ position }, ['position'])
  if (!Number.isFinite(time) || rec.events.some((e) => e.name === name && e.attributes['leanflow.position'] === at['leanflow.position']))
    return
  rec.events.push({ name, time, attributes: at })
  rec.events.sort((x, y) => x.time - y.time)
}

/** The OpenTelemetry `exception` event of a failure (semantic conventions: `exception.message`), as `span.recordException` makes it. */
function exceptionEvent(message: string, time: number): SpanEventSpec {
  return { name: 'exception', time, attributes: { 'exception.message': message } }
}

/** Moves attribute `from` to `to` (when set). */
function renameAttribute(attrs: Record<string, AttributeValue> | undefined, from: string, to: string): void {
  if (attrs === undefined || !(from in attrs)) return
  attrs[to] = attrs[from] as AttributeValue
  delete attrs[from]
}
