/**
 * `@leanflow/otel` on real runs: a producer (this process) starts runs inside a span, two worker
 * processes on BullMQ and Redis execute them, each exporting the spans of the events it appended
 * to its own in-memory exporter. Put together, the spans make one trace per run, parented to the
 * caller's span; retries, awaits and resumes show; a failed step is ERROR; a child run hangs under
 * the step that invoked it.
 */
import { createBullMQQueue } from '@leanflow/bullmq'
import { createIdGenerator, instrumentRunner } from '@leanflow/otel'
import { createRedisStreamStore } from '@leanflow/redis'
import { createRunner } from '@leanflow/runner'
import { context, SpanStatusCode } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { useRedisServer } from '../helpers/redisServer.js'
import { type ForkedWorker, forkWorker, stopWorkers } from '../workers/forkWorker.js'
import { otelFlows } from '../workers/otelFlows.js'
import type { SpanJson } from '../workers/otelJson.js'

const redis = useRedisServer()
const workers: ForkedWorker[] = []
beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
})
afterAll(async () => {
  await stopWorkers(workers)
  context.disable()
})

describe('@leanflow/otel with 2 worker processes', () => {
  it("one trace per run under the caller's span; retries, awaits, resumes; a failed step ERROR; a child run under its invoking step", async () => {
    const id = 'otel'
    const env = { REDIS_URL: redis.url, STORE_PREFIX: id, QUEUE_NAME: id }
    const forked = [forkWorker('otelWorker.ts', env), forkWorker('otelWorker.ts', env)]
    workers.push(...forked)
    await Promise.all(forked.map((w) => w.waitFor((m) => m.type === 'ready', 'ready')))
    const store = createRedisStreamStore({ url: redis.url, prefix: id })
    const queue = createBullMQQueue({ url: redis.url, queueName: id })
    const producer = createRunner({ store, queue, flows: otelFlows })
    const exporter = new InMemorySpanExporter()
    const provider = new BasicTracerProvider({ idGenerator: createIdGenerator(), spanProcessors: [new SimpleSpanProcessor(exporter)] })
    instrumentRunner(producer, { tracerProvider: provider })
    const tracer = provider.getTracer('test')

    // each run started inside its own request span
    const started = await Promise.all(
      ['traced', 'traced', 'traced', 'doomed'].map((flow) =>
        tracer.startActiveSpan(`POST /${flow}`, async (span) => {
          const { runId } = await producer.startFlow(flow, {})
          span.end()
          return { flow, runId, caller: span.spanContext() }
        }),
      ),
    )
    for (const r of started) await producer.result(r.runId, { timeout: '30s' }).catch(() => {})
    await stopWorkers(workers)
    await Promise.all([queue.close(), store.close()])

    const reports = forked.flatMap((w) => w.messages.filter((m) => m.type === 'telemetry')) as unknown as Report[]
    const spans: SpanJson[] = reports.flatMap((m) => m.spans)
    expect(new Set(spans.map((s) => s.pid)).size, 'both workers emitted spans').toBe(2)
    // no span twice
    expect(new Set(spans.map((s) => s.spanId)).size).toBe(spans.length)
    const byId = new Map(spans.map((s) => [s.spanId, s]))

    for (const r of started) {
      const mine = spans.filter((s) => s.attributes['leanflow.run_id'] === r.runId)
      const run = mine.find((s) => s.name === `run ${r.flow}`)
      expect(run, `${r.flow} run span`).toBeDefined()
      expect(run?.traceId).toBe(r.caller.traceId)
      expect(run?.parentSpanId).toBe(r.caller.spanId)
      for (const s of mine) {
        expect(s.traceId).toBe(r.caller.traceId)
        if (s !== run) expect(s.parentSpanId).toBe(run?.spanId)
      }
      if (r.flow === 'doomed') {
        expect(run?.status).toBe(SpanStatusCode.ERROR)
        const boom = mine.find((s) => s.name === 'step boom')
        expect(boom).toMatchObject({ status: SpanStatusCode.ERROR, message: 'out of stock' })
        continue
      }
      const charges = mine.filter((s) => s.name === 'step charge').sort((a, b) => a.start - b.start)
      expect(charges.map((s) => [s.attributes['leanflow.attempt'], s.status])).toEqual([
        [1, SpanStatusCode.ERROR],
        [2, SpanStatusCode.UNSET],
      ])
      expect(charges[0]?.events).toContain('step.retry')
      const wait = mine.find((s) => s.name === 'step wait')
      expect(wait?.events).toEqual(expect.arrayContaining(['step.await.time', 'step.resumed']))
      expect((wait?.end ?? 0) - (wait?.start ?? 0)).toBeGreaterThanOrEqual(150)
      // the child run: a child span of the invoking step, in the same trace
      const child = mine.find((s) => s.name === 'step child')
      const leaf = spans.find((s) => s.name === 'run leafy' && s.parentSpanId === child?.spanId)
      expect(leaf?.traceId).toBe(r.caller.traceId)
      const only = spans.find((s) => s.name === 'step only' && s.parentSpanId === leaf?.spanId)
      expect(only && byId.get(only.parentSpanId ?? '')?.name).toBe('run leafy')
    }

    const total = (name: string) => reports.reduce((n, m) => n + (m.metrics[name] ?? 0), 0)
    expect(total('leanflow.runs.completed')).toBe(6) // 3 traced + their 3 leafy children
    expect(total('leanflow.runs.failed')).toBe(1)
    expect(total('leanflow.runs.started')).toBe(3) // the children (the producer started the others)
    expect(total('leanflow.step.attempts')).toBe(3 * 5 + 1) // charge ×2, wait, child, only; boom
    expect(total('leanflow.step.duration')).toBe(3 * 5 + 1)
    expect(total('leanflow.step.queue_lag')).toBeGreaterThan(0)
  })
})

type Report = { spans: SpanJson[]; metrics: Record<string, number> }
