import {
  type Attributes,
  type Counter,
  context,
  diag,
  type Histogram,
  type MeterProvider,
  metrics,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  type Tracer,
  type TracerProvider,
  trace,
} from '@opentelemetry/api'
import { withIds } from './idGenerator.js'
import { attemptSpanId, formatTraceparent, traceOf } from './ids.js'
import { type RunSampling, runSampling } from './internal/sampling.js'
import { SpanMapper } from './spanMapper.js'
import type { MetricName, ObservableRunner, RunStartInfo, SpanSpec } from './types.js'

const SCOPE = '@leanflow/otel'

/** Options of {@link instrumentRunner}. */
export interface InstrumentOptions {
  /** Where the spans go. @default the global tracer provider (`trace.getTracerProvider()`) */
  tracerProvider?: TracerProvider | undefined
  /** Where the metrics go. @default the global meter provider (`metrics.getMeterProvider()`) */
  meterProvider?: MeterProvider | undefined
}

/**
 * Traces and measures the runs of `runner` with OpenTelemetry: a span per run and per step
 * attempt, span events for retries, awaits and resumes, run and step counters, step duration
 * and queue-lag histograms (see docs/telemetry.md). Each process emits the spans of the events
 * it appends, with ids derived from the run, so the spans of several workers join one trace —
 * give the tracer provider `createIdGenerator()`. `startFlow` inside a span stores its
 * `traceparent` in `flow.started.meta`: the run's span is that span's child, and a child run's
 * (`ctx.invoke`) the invoking step's. A run is sampled as a whole, alike in every process: by its
 * `traceparent`'s sampled flag, else by the provider's sampler on its run span (docs/telemetry.md).
 * An attempt its run's end cut off (canceled, or failed by another step) ends with the run.
 * Returns the function that stops the instrumentation.
 * Calling it again for the same runner replaces the earlier instrumentation (stopped first), so
 * nothing is emitted or counted twice. A tracer or meter that throws never breaks a run: the
 * error goes to the runner's `onError`, and the other spans and measurements of the event are
 * still emitted; nor does a provider whose `getTracer` or `getMeter` throws (the tracer and the
 * instruments are made at the first event that needs them: `instrumentRunner` does not throw).
 *
 * @example
 * ```ts
 * const provider = new BasicTracerProvider({ idGenerator: createIdGenerator(), spanProcessors: [processor] })
 * const stop = instrumentRunner(runner, { tracerProvider: provider })
 * ```
 */
export function instrumentRunner(runner: ObservableRunner, options: InstrumentOptions = {}): () => void {
  if (typeof runner !== 'object' || runner === null || typeof runner.observe !== 'function') {
    throw invalid(`instrumentRunner needs a leanflow runner (createRunner(…)), got ${describe(runner)}: pass the runner itself.`)
  }
  if (typeof options !== 'object' || options === null) {
    throw invalid(`instrumentRunner options must be an object { tracerProvider?, meterProvider? }, got ${describe(options)}.`)
  }
  const { tracerProvider, meterProvider } = options
  if (tracerProvider !== undefined && typeof tracerProvider?.getTracer !== 'function') {
    throw invalid(`tracerProvider must be an OpenTelemetry TracerProvider (with getTracer), got ${describe(tracerProvider)}.`)
  }
  if (meterProvider !== undefined && typeof meterProvider?.getMeter !== 'function') {
    throw invalid(`meterProvider must be an OpenTelemetry MeterProvider (with getMeter), got ${describe(meterProvider)}.`)
  }
  // the tracer and the instruments are made at the first event that needs them, not here: a
  // provider that throws must break no run, nor the process that instruments its runner
  let tracer: Tracer | undefined
  const tracerNow = (): Tracer => (tracer ??= (tracerProvider ?? trace.getTracerProvider()).getTracer(SCOPE))
  // a run is sampled as a whole (every span, in every process) or not at all
  const sampled = runSampling(() => tracerProvider ?? trace.getTracerProvider(), SCOPE)
  // the global meter provider is looked up at each measurement (instruments made again when it
  // changed): the metrics API has no proxy, unlike the tracer's, so one registered after
  // instrumentRunner would otherwise get nothing
  let meter: { provider: MeterProvider; instruments: Instruments } | undefined
  const instrumentsNow = (): Instruments => {
    const provider = meterProvider ?? metrics.getMeterProvider()
    if (provider !== meter?.provider) meter = { provider, instruments: createInstruments(provider) }
    return meter.instruments
  }
  const mapper = new SpanMapper()
  const warned = { ids: false }
  // a runner is instrumented once: a second call replaces the first (no span or count twice)
  instrumented.get(runner)?.()
  const unobserve = runner.observe({
    startMeta: (start) => {
      const tp = traceparentFor(start, sampled)
      return tp === undefined ? undefined : { traceparent: tp }
    },
    onEvent: (event, started, info) => {
      const { spans, measurements } = mapper.map(event, started, info)
      // each measurement and span on its own: a tracer or meter that throws loses only its own
      // output (the first error goes on to the runner's onError), never the others'
      let failure: { err: unknown } | undefined
      const guard = (fn: () => void) => {
        try {
          fn()
        } catch (err) {
          failure ??= { err }
        }
      }
      let instruments: Instruments | undefined
      if (measurements.length > 0) guard(() => (instruments = instrumentsNow()))
      for (const m of instruments ? measurements : []) {
        const inst = (instruments as Instruments)[m.metric]
        guard(() => ('add' in inst ? inst.add(m.value, m.attributes as Attributes) : inst.record(m.value, m.attributes as Attributes)))
      }
      let emitting = false
      if (spans.length > 0) guard(() => (emitting = sampled(event.flow, started)))
      for (const s of emitting ? spans : []) guard(() => emit(tracerNow(), s, warned))
      if (failure) throw failure.err
    },
  })
  const stop = () => {
    unobserve()
    if (instrumented.get(runner) === stop) instrumented.delete(runner)
  }
  instrumented.set(runner, stop)
  return stop
}

// One registry for every copy of this package (ESM and CJS builds may both be loaded).
const REGISTRY = Symbol.for('leanflow.otel.instrumented')
const registryHolder = globalThis as { [REGISTRY]?: WeakMap<object, () => void> }
/** Each instrumented runner's stop function. */
const instrumented = (registryHolder[REGISTRY] ??= new WeakMap<object, () => void>())

type Instruments = Record<MetricName, Counter | Histogram>

/** The run and step instruments on `provider`'s meter. */
function createInstruments(provider: MeterProvider): Instruments {
  const meter = provider.getMeter(SCOPE)
  const count = (name: MetricName, description: string) => meter.createCounter(name, { description })
  const time = (name: MetricName, description: string) => meter.createHistogram(name, { description, unit: 'ms' })
  return {
    'leanflow.runs.started': count('leanflow.runs.started', 'Runs started'),
    'leanflow.runs.completed': count('leanflow.runs.completed', 'Runs completed'),
    'leanflow.runs.failed': count('leanflow.runs.failed', 'Runs failed'),
    'leanflow.runs.canceled': count('leanflow.runs.canceled', 'Runs canceled'),
    'leanflow.step.attempts': count('leanflow.step.attempts', 'Step attempts started'),
    'leanflow.step.duration': time('leanflow.step.duration', 'Step attempt duration, start to completion or failure'),
    'leanflow.step.queue_lag': time('leanflow.step.queue_lag', 'Time from a step attempt being due to its start'),
  }
}

/**
 * The `traceparent` a new run stores: the invoking step's attempt span for a child run (sampled
 * as its run is: the child follows its parent's decision), else the active span's.
 */
function traceparentFor(start: RunStartInfo, sampled: RunSampling): string | undefined {
  const parent = start.parent
  if (parent) {
    const t = traceOf(parent.runId, parent.started?.meta?.traceparent)
    const spanId = attemptSpanId(t.traceId, parent.runId, parent.step, parent.attempt)
    const traceFlags = sampled(parent.runId, parent.started) ? TraceFlags.SAMPLED : TraceFlags.NONE
    return formatTraceparent({ traceId: t.traceId, spanId, traceFlags })
  }
  const sc = trace.getSpanContext(context.active())
  if (!sc || !trace.isSpanContextValid(sc)) return undefined
  return formatTraceparent(sc)
}

/** Emits one span with its derived ids, explicit times, events and status. */
function emit(tracer: Tracer, s: SpanSpec, warned: { ids: boolean }): void {
  const parent = s.parentSpanId
    ? trace.setSpanContext(ROOT_CONTEXT, { traceId: s.traceId, spanId: s.parentSpanId, traceFlags: s.traceFlags, isRemote: true })
    : ROOT_CONTEXT
  const span = withIds({ traceId: s.traceId, spanId: s.spanId }, () =>
    tracer.startSpan(s.name, { kind: SpanKind.INTERNAL, startTime: s.startTime, attributes: s.attributes }, parent),
  )
  if (!warned.ids && span.isRecording() && span.spanContext().spanId !== s.spanId) {
    warned.ids = true
    diag.warn(
      '@leanflow/otel: the tracer provider does not use createIdGenerator(): spans are exported, but spans of other processes will not find their parent. Pass idGenerator: createIdGenerator() to the provider.',
    )
  }
  try {
    for (const e of s.events) span.addEvent(e.name, e.attributes, e.time)
    if (s.error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: s.error })
  } finally {
    // a span started is always ended, whatever its events did
    span.end(s.endTime)
  }
}

/** A LeanflowError-shaped error (code INVALID_ARGUMENT, the `Symbol.for` brand) without importing core. */
function invalid(message: string): Error {
  const err = new Error(message) as Error & { code: string }
  err.name = 'LeanflowError'
  err.code = 'INVALID_ARGUMENT'
  Object.defineProperty(err, Symbol.for('leanflow.error'), { value: true })
  return err
}

function describe(v: unknown): string {
  if (v === null || v === undefined || typeof v !== 'object') return String(v)
  return Array.isArray(v) ? 'an array' : `an object with keys [${Object.keys(v).slice(0, 5).join(', ')}]`
}
