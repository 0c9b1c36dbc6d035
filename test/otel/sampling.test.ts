/**
 * `@leanflow/otel` under a ratio sampler: two runners on Redis and BullMQ (two "processes", each
 * with its own tracer provider, exporter and the same sampler) share the steps of many runs, with
 * resumes after awaits and child runs. A run is sampled as a whole: a trace that was exported
 * holds its run span and every attempt span, none of them orphaned, in every process; a run that
 * was not sampled exports nothing. A `traceparent`'s sampled flag is honoured.
 */
import { createBullMQQueue } from '@leanflow/bullmq'
import { createIdGenerator, instrumentRunner } from '@leanflow/otel'
import { createRedisStreamStore } from '@leanflow/redis'
import { createRunner, defineFlow, type Runner } from '@leanflow/runner'
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  ParentBasedSampler,
  type ReadableSpan,
  type Sampler,
  SimpleSpanProcessor,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-base'
import { afterEach, describe, expect, it } from 'vitest'
import { useRedisServer } from '../helpers/redisServer.js'

const redis = useRedisServer()

const leaf = defineFlow({ name: 'sampledLeaf', steps: { only: { handler: async () => 'leaf' } } })
const sampled = defineFlow({
  name: 'sampled',
  steps: {
    first: { handler: async () => 1 },
    wait: {
      needs: ['first'],
      handler: async (_input, ctx) => {
        await ctx.await.time('30ms')
        return 2
      },
    },
    child: { needs: ['wait'], handler: async (_input, ctx) => ctx.invoke(leaf, {}) },
  },
})

// run span + first, wait, child + the child's run span and its step
const SPANS_PER_RUN = 6

const closers: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const close of closers.splice(0)) await close()
})

/** Two runners on one store and queue, each instrumented with its own provider (`sampler`). */
async function twoProcesses(prefix: string, sampler: Sampler) {
  const exporters: InMemorySpanExporter[] = []
  const runners: Runner[] = []
  for (let i = 0; i < 2; i++) {
    const store = createRedisStreamStore({ url: redis.url, prefix })
    const queue = createBullMQQueue({ url: redis.url, queueName: prefix })
    const exporter = new InMemorySpanExporter()
    const tracerProvider = new BasicTracerProvider({
      sampler,
      idGenerator: createIdGenerator(),
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    })
    const runner = createRunner({ store, queue, flows: [sampled, leaf], concurrency: 2 })
    instrumentRunner(runner, { tracerProvider })
    await runner.start()
    exporters.push(exporter)
    runners.push(runner)
    closers.push(async () => {
      await runner.stop()
      await Promise.all([queue.close(), store.close()])
    })
  }
  const spans = () => exporters.flatMap((e) => e.getFinishedSpans())
  return { runners, exporters, spans }
}

async function settle(runner: Runner, runIds: string[], spans: () => ReadableSpan[]) {
  for (const runId of runIds) await runner.result(runId, { timeout: '30s' })
  // the last deliveries to the observers: until no span came for 150 ms
  for (let before = -1; before !== spans().length; ) {
    before = spans().length
    await new Promise((r) => setTimeout(r, 150))
  }
}

/** Each trace's spans, checked whole: one span per id, every parent in the trace (or the caller's). */
function checkWhole(spans: ReadableSpan[], callers: Set<string> = new Set()) {
  const traces = new Map<string, ReadableSpan[]>()
  for (const s of spans) traces.set(s.spanContext().traceId, [...(traces.get(s.spanContext().traceId) ?? []), s])
  for (const [traceId, mine] of traces) {
    const ids = new Set(mine.map((s) => s.spanContext().spanId))
    expect(ids.size, `trace ${traceId}: no span twice`).toBe(mine.length)
    const orphans = mine.filter((s) => {
      const parent = s.parentSpanContext?.spanId
      return parent !== undefined && !ids.has(parent) && !callers.has(parent)
    })
    expect(
      orphans.map((s) => s.name),
      `trace ${traceId}: spans whose parent was not sampled`,
    ).toEqual([])
    expect(mine, `trace ${traceId}: the whole run (${mine.map((s) => s.name).join(', ')})`).toHaveLength(SPANS_PER_RUN)
  }
  return traces
}

describe('@leanflow/otel with a ratio sampler, across two processes', () => {
  it('ParentBased(TraceIdRatio 0.5): each run is sampled whole or not at all, in both processes', async () => {
    const sampler = new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(0.5) })
    const { runners, exporters, spans } = await twoProcesses('sampling-parent', sampler)
    const [producer] = runners as [Runner, Runner]
    const runIds: string[] = []
    for (let i = 0; i < 24; i++) runIds.push((await producer.startFlow(sampled, {})).runId)
    await settle(producer, runIds, spans)
    const all = spans()
    expect(
      exporters.map((e) => e.getFinishedSpans().length > 0),
      'both processes emitted spans',
    ).toEqual([true, true])
    const traces = checkWhole(all)
    // a ratio of 0.5 over 24 runs: some sampled, some not (each run's trace id is random)
    expect(traces.size).toBeGreaterThan(0)
    expect(traces.size).toBeLessThan(runIds.length)
    const runsSeen = new Set(all.filter((s) => s.name === 'run sampled').map((s) => s.attributes['leanflow.run_id']))
    expect(runsSeen.size).toBe(traces.size)
  })

  it("plain TraceIdRatio 0.5: the same; a child run follows its parent's decision", async () => {
    const { runners, spans } = await twoProcesses('sampling-ratio', new TraceIdRatioBasedSampler(0.5))
    const [producer] = runners as [Runner, Runner]
    const runIds: string[] = []
    for (let i = 0; i < 16; i++) runIds.push((await producer.startFlow(sampled, {})).runId)
    await settle(producer, runIds, spans)
    const traces = checkWhole(spans())
    expect(traces.size).toBeGreaterThan(0)
    expect(traces.size).toBeLessThan(runIds.length)
  })

  it("a traceparent's sampled flag is honoured: 01 exports the whole run under the caller, 00 nothing (whatever the sampler)", async () => {
    for (const sampler of [new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(0.5) }), new TraceIdRatioBasedSampler(1)]) {
      const prefix = `sampling-tp-${sampler.toString().replace(/\W+/g, '')}`.slice(0, 40)
      const { runners, spans } = await twoProcesses(prefix, sampler)
      const [producer] = runners as [Runner, Runner]
      const calls = Array.from({ length: 8 }, (_, i) => {
        const traceId = `${(i + 1).toString(16).padStart(2, '0')}`.repeat(16)
        const spanId = `${(i + 1).toString(16).padStart(2, '0')}`.repeat(8)
        return { traceId, spanId, flags: i % 2 === 0 ? '01' : '00' }
      })
      const runIds: string[] = []
      for (const c of calls)
        runIds.push((await producer.startFlow(sampled, {}, { traceparent: `00-${c.traceId}-${c.spanId}-${c.flags}` })).runId)
      await settle(producer, runIds, spans)
      const traces = checkWhole(spans(), new Set(calls.map((c) => c.spanId)))
      expect([...traces.keys()].sort(), String(sampler)).toEqual(calls.filter((c) => c.flags === '01').map((c) => c.traceId))
      for (const close of closers.splice(0)) await close()
    }
  })
})
