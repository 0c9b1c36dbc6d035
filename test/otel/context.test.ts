/**
 * `@leanflow/otel` when `runner.start()` is called inside an active span (a startup span, a
 * request that starts the runner lazily): the runner's background work — the queue's worker loop
 * and the schedule ticker — must not carry that span on. Otherwise every step handler runs inside
 * it, and every run a step or a schedule's tick starts hangs below it: one endless trace under a
 * span that ended long ago. A scheduled run is a run of its own (a trace of its own), and a
 * `startFlow` in a step handler is called inside no span of the starter's. On the memory queue, a
 * step runs in no span of the code that handed its job in (another run's `startFlow` caller).
 */
import { createBullMQQueue } from '@leanflow/bullmq'
import { createMemoryStreamStore } from '@leanflow/core'
import { createIdGenerator, instrumentRunner } from '@leanflow/otel'
import { createRedisStreamStore } from '@leanflow/redis'
import { createRunner, defineFlow, type Runner } from '@leanflow/runner'
import { context, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { useRedisServer } from '../helpers/redisServer.js'
import { waitFor } from '../helpers/waitFor.js'

const redis = useRedisServer()
beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
})
afterAll(() => {
  context.disable()
})

/** The span each step handler saw active ('none': none). */
const activeInHandlers: string[] = []
const seeActive = () => activeInHandlers.push(trace.getActiveSpan()?.spanContext().spanId ?? 'none')
let runnerOf: Runner | undefined
const spawned = defineFlow({ name: 'spawned', steps: { only: { handler: async () => seeActive() } } })
const spawner = defineFlow({
  name: 'spawner',
  steps: {
    only: {
      handler: async () => {
        seeActive()
        return (await (runnerOf as Runner).startFlow(spawned, {})).runId
      },
    },
  },
})
const slowSpawner = defineFlow({
  name: 'slowSpawner',
  steps: {
    only: {
      handler: async () => {
        seeActive()
        await new Promise((r) => setTimeout(r, 30))
        return (await (runnerOf as Runner).startFlow(spawned, {})).runId
      },
    },
  },
})
const ticked = defineFlow({ name: 'ticked', steps: { only: { handler: async () => seeActive() } } })

describe("@leanflow/otel: step handlers run in no caller's context", () => {
  it("on the memory queue, a run's step does not run inside the span of another run's startFlow caller", async () => {
    const exporter = new InMemorySpanExporter()
    const provider = new BasicTracerProvider({ idGenerator: createIdGenerator(), spanProcessors: [new SimpleSpanProcessor(exporter)] })
    // one job at a time: Y's step waits for X's, and the memory queue hands it on when X's ends
    const runner = createRunner({ store: createMemoryStreamStore(), flows: [slowSpawner, spawned], concurrency: 1 })
    runnerOf = runner
    instrumentRunner(runner, { tracerProvider: provider })
    await runner.start()
    activeInHandlers.length = 0
    try {
      const started = await Promise.all(
        ['X', 'Y'].map((who) =>
          provider.getTracer('app').startActiveSpan(`request ${who}`, async (span) => {
            const { runId } = await runner.startFlow(slowSpawner, {})
            span.end()
            return { runId, spanId: span.spanContext().spanId }
          }),
        ),
      )
      for (const { runId } of started) {
        const { only } = (await runner.result(runId, { timeout: '5s' })) as { only: string }
        await runner.result(only, { timeout: '5s' })
      }
      await new Promise((r) => setTimeout(r, 20)) // the last deliveries to the observers
      expect(activeInHandlers.filter((s) => started.some((r) => r.spanId === s))).toEqual([])
      const callers = new Set(started.map((r) => r.spanId))
      const spawnedRuns = exporter.getFinishedSpans().filter((s) => s.name === 'run spawned')
      expect(spawnedRuns).toHaveLength(2)
      for (const s of spawnedRuns) expect(callers.has(s.parentSpanContext?.spanId ?? ''), 'a spawned run under a request span').toBe(false)
    } finally {
      await runner.stop()
    }
  })
})

describe('@leanflow/otel: runner.start() inside an active span', () => {
  it('step handlers, the runs they start and scheduled runs carry no span of the code that started the runner', async () => {
    const id = 'otel-context'
    const store = createRedisStreamStore({ url: redis.url, prefix: id })
    const queue = createBullMQQueue({ url: redis.url, queueName: id })
    const exporter = new InMemorySpanExporter()
    const provider = new BasicTracerProvider({ idGenerator: createIdGenerator(), spanProcessors: [new SimpleSpanProcessor(exporter)] })
    const runner = createRunner({ store, queue, flows: [spawner, spawned, ticked] })
    runnerOf = runner
    instrumentRunner(runner, { tracerProvider: provider })
    try {
      await runner.schedules.set({ id: 'every-second', flow: 'ticked', every: '1s' })
      const boot = await provider.getTracer('app').startActiveSpan('boot', async (span) => {
        await runner.start()
        span.end()
        return span.spanContext()
      })
      const { runId } = await runner.startFlow(spawner, {})
      const child = (await runner.result(runId, { timeout: '10s' })) as { only: string }
      await runner.result(child.only, { timeout: '10s' })
      await waitFor(() => exporter.getFinishedSpans().some((s) => s.name === 'run ticked'), 'a scheduled run to end')
      await runner.schedules.delete('every-second')

      expect(activeInHandlers.filter((s) => s === boot.spanId)).toEqual([])
      const runSpans = exporter.getFinishedSpans().filter((s) => s.name.startsWith('run '))
      expect(runSpans.map((s) => s.name)).toEqual(expect.arrayContaining(['run spawner', 'run spawned', 'run ticked']))
      for (const s of runSpans) {
        expect(s.spanContext().traceId, `${s.name} in the trace of boot`).not.toBe(boot.traceId)
        expect(s.parentSpanContext?.spanId, `${s.name}'s parent`).toBeUndefined()
      }
    } finally {
      await runner.stop()
      await Promise.all([queue.close(), store.close()])
    }
  })
})
