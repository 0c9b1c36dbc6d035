/**
 * A worker process of the OpenTelemetry test: a runner on BullMQ and the Redis store holding
 * `otelFlows.ts`, instrumented with `@leanflow/otel` (an in-memory span exporter, the derived
 * ids' generator, an in-memory metric reader). Forked through `forkWorker('otelWorker.ts', env)`.
 *
 * env: REDIS_URL, STORE_PREFIX, QUEUE_NAME.
 * IPC out: { type: 'ready', pid }; after SIGTERM (the runner drained) { type: 'telemetry', pid,
 * spans, metrics } — each span as plain JSON, each metric as the sum of its points — then exit 0.
 */
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { createBullMQQueue } from '../../packages/bullmq/src/index.js'
import { createIdGenerator, instrumentRunner } from '../../packages/otel/src/index.js'
import { createRedisStreamStore } from '../../packages/redis/src/index.js'
import { createRunner } from '../../packages/runner/src/index.js'
import { otelFlows } from './otelFlows.js'
import { metricTotals, spanJson } from './otelJson.js'

const env = (name: string) => {
  const v = process.env[name]
  if (!v) throw new Error(`otelWorker needs ${name}`)
  return v
}
const url = env('REDIS_URL')
const exporter = new InMemorySpanExporter()
const tracerProvider = new BasicTracerProvider({ idGenerator: createIdGenerator(), spanProcessors: [new SimpleSpanProcessor(exporter)] })
const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
const reader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 3_600_000 })
const meterProvider = new MeterProvider({ readers: [reader] })

const onError = (err: unknown) => console.error(`[otelWorker ${process.pid}]`, err instanceof Error ? err.message : err)
const store = createRedisStreamStore({ url, prefix: env('STORE_PREFIX') })
const queue = createBullMQQueue({ url, queueName: env('QUEUE_NAME'), onError })
const runner = createRunner({ store, queue, flows: otelFlows, concurrency: 1, onError })
instrumentRunner(runner, { tracerProvider, meterProvider })

process.once('SIGTERM', async () => {
  await runner.stop()
  await Promise.all([queue.close(), store.close()])
  await reader.forceFlush()
  const msg = {
    type: 'telemetry',
    pid: process.pid,
    spans: exporter.getFinishedSpans().map(spanJson),
    metrics: metricTotals(metricExporter),
  }
  process.send?.(msg, () => process.exit(0))
})

await runner.start()
process.send?.({ type: 'ready', pid: process.pid })
