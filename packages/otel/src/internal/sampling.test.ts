import { ROOT_CONTEXT, SamplingDecision, trace } from '@opentelemetry/api'
import { BasicTracerProvider, ParentBasedSampler, TraceIdRatioBasedSampler } from '@opentelemetry/sdk-trace-base'
import { afterEach, describe, expect, it } from 'vitest'
import { traceOf } from '../ids.js'
import type { StartedEvent } from '../types.js'
import { runSampling } from './sampling.js'

const startedOf = (runId: string, traceparent?: string): StartedEvent => ({
  id: '1-0',
  ts: new Date(0).toISOString(),
  kind: 'flow.started',
  flow: runId,
  data: { name: 'order' },
  ...(traceparent === undefined ? {} : { meta: { traceparent } }),
})
const runIds = Array.from({ length: 64 }, (_, i) => `run-${i}`)
const ratio = new TraceIdRatioBasedSampler(0.5)
/** The ratio sampler's own answer for the run's derived trace id. */
const byRatio = (runId: string) =>
  ratio.shouldSample(ROOT_CONTEXT, traceOf(runId, undefined).traceId).decision === SamplingDecision.RECORD_AND_SAMPLED

afterEach(() => {
  trace.disable()
})

describe('runSampling: one decision per run', () => {
  it("a run of its own: the provider's sampler on its derived trace id (some runs in, some out)", () => {
    const provider = new BasicTracerProvider({ sampler: new ParentBasedSampler({ root: ratio }) })
    const sampled = runSampling(() => provider, '@leanflow/otel')
    const decisions = runIds.map((id) => sampled(id, startedOf(id)))
    expect(decisions).toEqual(runIds.map(byRatio))
    expect(new Set(decisions)).toEqual(new Set([true, false]))
  })

  it("the global provider's sampler, also when registered after", () => {
    const sampled = runSampling(() => trace.getTracerProvider(), '@leanflow/otel')
    expect(runIds.every((id) => sampled(id, startedOf(id)))).toBe(true) // no SDK yet: left to each span
    trace.setGlobalTracerProvider(new BasicTracerProvider({ sampler: ratio }))
    expect(runIds.map((id) => sampled(id, startedOf(id)))).toEqual(runIds.map(byRatio))
  })

  it("a run started inside a span: that span's sampled flag, whatever the sampler", () => {
    const provider = new BasicTracerProvider({ sampler: new TraceIdRatioBasedSampler(1) })
    const sampled = runSampling(() => provider, '@leanflow/otel')
    const tp = (flags: string) => `00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-${flags}`
    expect(sampled('r1', startedOf('r1', tp('01')))).toBe(true)
    expect(sampled('r1', startedOf('r1', tp('00')))).toBe(false)
    const never = runSampling(() => new BasicTracerProvider({ sampler: new TraceIdRatioBasedSampler(0) }), '@leanflow/otel')
    expect(never('r1', startedOf('r1', tp('01')))).toBe(true)
  })
})
