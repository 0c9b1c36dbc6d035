import { createMemoryStreamStore, isLeanflowError } from '@leanflow/core'
import { createRunner, defineFlow } from '@leanflow/runner'
import { context, SpanStatusCode, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createIdGenerator } from './idGenerator.js'
import { instrumentRunner } from './instrumentRunner.js'

const manager = new AsyncLocalStorageContextManager()
beforeAll(() => {
  context.setGlobalContextManager(manager.enable())
})
afterAll(() => {
  context.disable()
})

let tries = 0
const flaky = defineFlow({
  name: 'flaky',
  steps: {
    a: {
      retry: { attempts: 2, backoff: { type: 'fixed', delayMs: 1 } },
      handler: async () => {
        if (++tries === 1) throw new Error('first try fails')
        return 1
      },
    },
    b: { needs: ['a'], handler: async (_input, ctx) => ctx.invoke('leaf', {}) },
  },
})
const leaf = defineFlow({ name: 'leaf', steps: { only: { handler: async () => 2 } } })

describe('instrumentRunner in one process (memory store)', () => {
  it("spans with the derived ids join the caller's trace; a child run hangs under the invoking step; metrics are counted", async () => {
    const exporter = new InMemorySpanExporter()
    const tracerProvider = new BasicTracerProvider({
      idGenerator: createIdGenerator(),
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    })
    const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
    const reader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 60_000 })
    const meterProvider = new MeterProvider({ readers: [reader] })
    const runner = createRunner({ store: createMemoryStreamStore(), flows: [flaky, leaf] })
    const stop = instrumentRunner(runner, { tracerProvider, meterProvider })
    await runner.start()
    const caller = tracerProvider.getTracer('test').startSpan('POST /orders')
    const { runId } = await context.with(trace.setSpan(context.active(), caller), () => runner.startFlow(flaky, {}))
    caller.end()
    await runner.result(runId, { timeout: '5s' })
    await runner.stop()
    stop()
    const spans = exporter.getFinishedSpans()
    const traceId = caller.spanContext().traceId
    expect(new Set(spans.map((s) => s.spanContext().traceId))).toEqual(new Set([traceId]))
    const byName = (n: string) => spans.filter((s) => s.name === n)
    const [run] = byName('run flaky')
    expect(run?.parentSpanContext?.spanId).toBe(caller.spanContext().spanId)
    const a = byName('step a').sort((x, y) => Number(x.attributes['leanflow.attempt']) - Number(y.attributes['leanflow.attempt']))
    expect(a.map((s) => s.status.code)).toEqual([SpanStatusCode.ERROR, SpanStatusCode.UNSET])
    expect(a[0]?.status.message).toBe('first try fails')
    expect(a[1]?.events.map((e) => e.name)).toContain('step.retry')
    for (const s of [...a, ...byName('step b')]) expect(s.parentSpanContext?.spanId).toBe(run?.spanContext().spanId)
    const [b] = byName('step b')
    expect(b?.events.map((e) => e.name)).toEqual(expect.arrayContaining(['step.await.run', 'step.resumed']))
    // the child's flow is leanflow.child_flow: leanflow.flow names the span's own run's flow
    const awaitRun = b?.events.find((e) => e.name === 'step.await.run')
    expect(awaitRun?.attributes).toMatchObject({ 'leanflow.child_flow': 'leaf' })
    expect(awaitRun?.attributes?.['leanflow.flow']).toBeUndefined()
    const [leafRun] = byName('run leaf')
    expect(leafRun?.parentSpanContext?.spanId).toBe(b?.spanContext().spanId)
    const [only] = byName('step only')
    expect(only?.parentSpanContext?.spanId).toBe(leafRun?.spanContext().spanId)
    expect(only?.attributes).toMatchObject({ 'leanflow.flow': 'leaf', 'leanflow.step': 'only', 'leanflow.attempt': 1 })

    await reader.forceFlush()
    const points = new Map<string, number>()
    for (const rm of metricExporter.getMetrics())
      for (const sm of rm.scopeMetrics)
        for (const m of sm.metrics) {
          const total = m.dataPoints.reduce((n, p) => n + (typeof p.value === 'number' ? p.value : p.value.count), 0)
          points.set(m.descriptor.name, total)
        }
    expect(points.get('leanflow.runs.started')).toBe(2)
    expect(points.get('leanflow.runs.completed')).toBe(2)
    expect(points.get('leanflow.step.attempts')).toBe(4)
    expect(points.get('leanflow.step.duration')).toBe(4)
    expect(points.get('leanflow.step.queue_lag')).toBeGreaterThanOrEqual(3)
    await meterProvider.shutdown()
  })

  it('refuses what is not a runner or a provider, naming it', () => {
    const err = (() => {
      try {
        instrumentRunner({} as never)
      } catch (e) {
        return e
      }
      return undefined
    })()
    expect(isLeanflowError(err, 'INVALID_ARGUMENT')).toBe(true)
    expect((err as Error).message).toMatch(/needs a leanflow runner/)
    const runner = createRunner({ store: createMemoryStreamStore(), flows: [leaf] })
    expect(() => instrumentRunner(runner, { tracerProvider: 'jaeger' as never })).toThrow(/tracerProvider must be/)
  })
})
