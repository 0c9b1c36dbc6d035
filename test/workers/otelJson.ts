/** Finished spans and metrics as plain JSON (they cross a process boundary in the OpenTelemetry test). */
import type { InMemoryMetricExporter } from '@opentelemetry/sdk-metrics'
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base'

export interface SpanJson {
  name: string
  traceId: string
  spanId: string
  parentSpanId: string | undefined
  status: number
  message: string | undefined
  start: number
  end: number
  attributes: Record<string, unknown>
  events: string[]
  pid: number
}

const ms = ([s, ns]: [number, number]) => s * 1000 + ns / 1e6

export function spanJson(s: ReadableSpan): SpanJson {
  return {
    name: s.name,
    traceId: s.spanContext().traceId,
    spanId: s.spanContext().spanId,
    parentSpanId: s.parentSpanContext?.spanId,
    status: s.status.code,
    message: s.status.message,
    start: ms(s.startTime),
    end: ms(s.endTime),
    attributes: { ...s.attributes },
    events: s.events.map((e) => e.name),
    pid: process.pid,
  }
}

/** Each metric's total: the sum of its points (a histogram's: its count). */
export function metricTotals(exporter: InMemoryMetricExporter): Record<string, number> {
  const totals: Record<string, number> = {}
  for (const rm of exporter.getMetrics().slice(-1))
    for (const sm of rm.scopeMetrics)
      for (const m of sm.metrics) {
        totals[m.descriptor.name] = m.dataPoints.reduce((n, p) => n + (typeof p.value === 'number' ? p.value : p.value.count), 0)
      }
  return totals
}
