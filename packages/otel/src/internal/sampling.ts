import { ROOT_CONTEXT, type Sampler, SamplingDecision, SpanKind, TraceFlags, type TracerProvider } from '@opentelemetry/api'
import { traceOf } from '../ids.js'
import type { StartedEvent } from '../types.js'

/** Whether a run's spans are sampled: one answer for all of them, the same in every process. */
export type RunSampling = (runId: string, started: StartedEvent | undefined) => boolean

/**
 * The sampling decision of runs, taken once for the whole run so that a trace never holds a step
 * without its run (or a child run without its invoking step):
 *
 * - a run started inside a span (its `flow.started.meta.traceparent`) follows that span's sampled
 *   flag, whatever the sampler: a caller that was not sampled gets no orphaned run below it;
 * - a run of its own (no `traceparent`) is sampled as the provider's sampler samples its run span,
 *   a root span whose trace id is derived from the run id — so every process decides alike
 *   (`TraceIdRatioBasedSampler`, alone or as a `ParentBasedSampler`'s root, decides by the trace id).
 *
 * The OpenTelemetry API cannot ask a sampler without starting a span; the sampler of an SDK
 * tracer (`@opentelemetry/sdk-trace-base`, the Node SDK) is asked directly. With a provider
 * whose sampler cannot be reached, a run of its own counts as sampled (each span is then left
 * to the sampler, as before).
 */
export function runSampling(provider: () => TracerProvider, scope: string): RunSampling {
  let found: { provider: TracerProvider; sampler: Sampler | undefined } | undefined
  return (runId, started) => {
    const trace = traceOf(runId, started?.meta?.traceparent)
    if (trace.parentSpanId !== undefined) return (trace.traceFlags & TraceFlags.SAMPLED) !== 0
    // looked up again when the provider changed (the global one registered later)
    const now = delegateOf(provider())
    if (found?.provider !== now) found = { provider: now, sampler: samplerOf(now, scope) }
    const { sampler } = found
    if (!sampler || !started) return true
    const flow = started.data.name
    const attributes = { 'leanflow.run_id': runId, 'leanflow.flow': flow }
    const { decision } = sampler.shouldSample(ROOT_CONTEXT, trace.traceId, `run ${flow}`, SpanKind.INTERNAL, attributes, [])
    return decision === SamplingDecision.RECORD_AND_SAMPLED
  }
}

/** The provider behind the global proxy provider (`trace.getTracerProvider()`), or `provider` itself. */
function delegateOf(provider: TracerProvider): TracerProvider {
  return (provider as { getDelegate?: () => TracerProvider }).getDelegate?.() ?? provider
}

/** The sampler of `provider`'s SDK tracer, if it has one. */
function samplerOf(provider: TracerProvider, scope: string): Sampler | undefined {
  const tracer = provider.getTracer(scope) as unknown as { _sampler?: Partial<Sampler> }
  const sampler = tracer._sampler
  return typeof sampler?.shouldSample === 'function' ? (sampler as Sampler) : undefined
}
