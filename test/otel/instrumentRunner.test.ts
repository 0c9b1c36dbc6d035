/**
 * `instrumentRunner` on real in-process runs (memory store and queue): called twice on one runner
 * it emits and counts nothing twice; a tracer that throws loses its spans but no metric and
 * breaks no run, nor does a provider whose getTracer or getMeter throws (instrumentRunner included);
 * a span whose events throw is still ended.
 */
import { createMemoryStreamStore } from '@leanflow/core'
import { createIdGenerator, instrumentRunner } from '@leanflow/otel'
import { createRunner, defineFlow } from '@leanflow/runner'
import { metrics, type Span, type Tracer, type TracerProvider } from '@opentelemetry/api'
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { describe, expect, it } from 'vitest'

const leaf = defineFlow({ name: 'leaf', steps: { only: { handler: async () => 'leaf' } } })
const order = defineFlow({
  name: 'order',
  steps: {
    charge: {
      retry: { attempts: 2, backoff: { type: 'fixed', delayMs: 1 } },
      handler: async (_input, ctx) => {
        if (ctx.attempt === 1) throw new Error('card declined')
        return 'charged'
      },
    },
    ship: { needs: ['charge'], handler: async (_input, ctx) => ctx.invoke(leaf, {}) },
  },
})

function telemetry() {
  const exporter = new InMemorySpanExporter()
  const tracerProvider = new BasicTracerProvider({ idGenerator: createIdGenerator(), spanProcessors: [new SimpleSpanProcessor(exporter)] })
  const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
  const reader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 3_600_000 })
  const meterProvider = new MeterProvider({ readers: [reader] })
  /** Each instrument's total: a counter's sum, a histogram's sample count. */
  const totals = async () => {
    await reader.forceFlush()
    const out: Record<string, number> = {}
    for (const rm of metricExporter.getMetrics().slice(-1))
      for (const sm of rm.scopeMetrics)
        for (const m of sm.metrics)
          out[m.descriptor.name] = m.dataPoints.reduce((n, p) => n + (typeof p.value === 'number' ? p.value : p.value.count), 0)
    return out
  }
  return { exporter, tracerProvider, meterProvider, totals }
}

async function runOrder(runner: ReturnType<typeof createRunner>) {
  const { runId } = await runner.startFlow(order, {})
  await runner.result(runId, { timeout: '5s' })
  await new Promise((r) => setTimeout(r, 20)) // the last deliveries to the observers
  return runId
}

// one order run: 2 runs (order + leaf), attempts charge ×2, ship, only
const ONE_RUN = {
  'leanflow.runs.started': 2,
  'leanflow.runs.completed': 2,
  'leanflow.step.attempts': 4,
  'leanflow.step.duration': 4,
}

describe('instrumentRunner on in-process runs', () => {
  it('called twice on one runner: the second replaces the first, no span or count twice; each stop function stops only its own', async () => {
    const t = telemetry()
    const runner = createRunner({ store: createMemoryStreamStore(), flows: [order, leaf] })
    await runner.start()
    const stopFirst = instrumentRunner(runner, t)
    const stopSecond = instrumentRunner(runner, t)
    await runOrder(runner)
    const spans = t.exporter.getFinishedSpans()
    expect(spans.map((s) => s.name).sort()).toEqual(['run leaf', 'run order', 'step charge', 'step charge', 'step only', 'step ship'])
    expect(await t.totals()).toMatchObject(ONE_RUN)
    stopFirst() // already replaced: the second goes on
    await runOrder(runner)
    expect(t.exporter.getFinishedSpans()).toHaveLength(12)
    stopSecond()
    await runOrder(runner)
    expect(t.exporter.getFinishedSpans()).toHaveLength(12)
    expect(await t.totals()).toMatchObject({ 'leanflow.runs.started': 4, 'leanflow.step.attempts': 8 })
    await runner.stop()
  })

  it('a tracer that throws breaks no run and loses no metric; the error goes to onError', async () => {
    const t = telemetry()
    const throwing: TracerProvider = {
      getTracer: () =>
        ({
          startSpan: () => {
            throw new Error('exporter exploded')
          },
        }) as unknown as Tracer,
    }
    const errors: unknown[] = []
    const runner = createRunner({ store: createMemoryStreamStore(), flows: [order, leaf], onError: (e) => errors.push(e) })
    instrumentRunner(runner, { tracerProvider: throwing, meterProvider: t.meterProvider })
    await runner.start()
    const runId = await runOrder(runner)
    expect(await runner.result(runId)).toEqual({ ship: { only: 'leaf' } })
    expect(await t.totals()).toMatchObject(ONE_RUN)
    expect(errors.length).toBeGreaterThan(0)
    expect(errors.every((e) => (e as Error).message === 'exporter exploded')).toBe(true)
    await runner.stop()
  })

  it('a provider whose getTracer or getMeter throws breaks neither instrumentRunner nor a run; the other still records; errors to onError', async () => {
    const t = telemetry()
    const broken = (what: string) => () => {
      throw new Error(`${what} exploded`)
    }
    const errors: unknown[] = []
    const runner = createRunner({ store: createMemoryStreamStore(), flows: [order, leaf], onError: (e) => errors.push(e) })
    await runner.start()
    const stop = instrumentRunner(runner, { tracerProvider: { getTracer: broken('getTracer') }, meterProvider: t.meterProvider })
    const runId = await runOrder(runner)
    expect(await runner.result(runId)).toEqual({ ship: { only: 'leaf' } })
    expect(await t.totals()).toMatchObject(ONE_RUN)
    stop()
    instrumentRunner(runner, { tracerProvider: t.tracerProvider, meterProvider: { getMeter: broken('getMeter') } })
    await runOrder(runner)
    expect(t.exporter.getFinishedSpans()).toHaveLength(6)
    const messages = new Set(errors.map((e) => (e as Error).message))
    expect(messages).toEqual(new Set(['getTracer exploded', 'getMeter exploded']))
    await runner.stop()
  })

  it('a span whose events throw is ended all the same', async () => {
    const t = telemetry()
    const real = t.tracerProvider.getTracer('real')
    const ended: string[] = []
    const started: string[] = []
    const wrapping: TracerProvider = {
      getTracer: () =>
        ({
          startSpan: (...args: Parameters<Tracer['startSpan']>) => {
            const span = real.startSpan(...args)
            started.push(args[0])
            return new Proxy(span, {
              get(target, key) {
                if (key === 'addEvent')
                  return () => {
                    throw new Error('addEvent broke')
                  }
                if (key === 'end')
                  return (time?: number) => {
                    ended.push(args[0])
                    target.end(time)
                  }
                const v = Reflect.get(target, key)
                return typeof v === 'function' ? v.bind(target) : v
              },
            }) as Span
          },
        }) as unknown as Tracer,
    }
    const runner = createRunner({ store: createMemoryStreamStore(), flows: [order, leaf], onError: () => {} })
    instrumentRunner(runner, { tracerProvider: wrapping, meterProvider: t.meterProvider })
    await runner.start()
    await runOrder(runner)
    expect(started).toHaveLength(6)
    expect(ended.sort()).toEqual(started.sort())
    await runner.stop()
  })

  it('the global meter provider registered after instrumentRunner gets the metrics (the metrics API has no proxy)', async () => {
    const t = telemetry()
    const runner = createRunner({ store: createMemoryStreamStore(), flows: [order, leaf] })
    const stop = instrumentRunner(runner, { tracerProvider: t.tracerProvider }) // the global meter provider: none yet
    metrics.setGlobalMeterProvider(t.meterProvider)
    try {
      await runner.start()
      await runOrder(runner)
      expect(await t.totals()).toMatchObject(ONE_RUN)
    } finally {
      stop()
      metrics.disable()
      await runner.stop()
    }
  })
})
