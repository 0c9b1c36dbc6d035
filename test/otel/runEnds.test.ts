/**
 * `@leanflow/otel`: every attempt gets its span, also one the run's end cut off. A producer (it
 * starts and cancels runs, never runs a step) and a worker (it runs the steps) on Redis and
 * BullMQ, each instrumented with its own provider and exporter, as two processes would be: an
 * attempt suspended on an await (event, trigger, time, a child run) or running when its run is
 * canceled, or when another step fails the run, ends with the run — emitted once, by the process
 * that appended the end, a child of the run's span.
 */
import { createBullMQQueue } from '@leanflow/bullmq'
import { NonRetriableError } from '@leanflow/core'
import { createIdGenerator, instrumentRunner } from '@leanflow/otel'
import { createRedisStreamStore } from '@leanflow/redis'
import { createRunner, defineFlow, type Runner } from '@leanflow/runner'
import { SpanStatusCode } from '@opentelemetry/api'
import { BasicTracerProvider, InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { afterAll, describe, expect, it } from 'vitest'
import { useRedisServer } from '../helpers/redisServer.js'
import { waitFor } from '../helpers/waitFor.js'

const redis = useRedisServer()

const onEvent = defineFlow({ name: 'onEvent', steps: { wait: { handler: async (_i, ctx) => ctx.await.event({ kind: 'never.comes' }) } } })
const onTrigger = defineFlow({
  name: 'onTrigger',
  steps: { approve: { handler: async (_i, ctx) => (await ctx.await.trigger({ type: 'user' })).wait() } },
})
const sleeper = defineFlow({ name: 'sleeper', steps: { nap: { handler: async (_i, ctx) => ctx.await.time('1h') } } })
const invoker = defineFlow({ name: 'invoker', steps: { call: { handler: async (_i, ctx) => ctx.invoke(sleeper, {}) } } })
const busy = defineFlow({
  name: 'busy',
  steps: {
    work: {
      handler: async (_i, ctx) =>
        new Promise((_resolve, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true })),
    },
  },
})
const halfDone = defineFlow({
  name: 'halfDone',
  steps: {
    waits: { handler: async (_i, ctx) => ctx.await.event({ kind: 'never.comes' }) },
    breaks: {
      handler: async () => {
        await new Promise((r) => setTimeout(r, 150))
        throw new NonRetriableError('out of stock')
      },
    },
  },
})
const timesOut = defineFlow({
  name: 'timesOut',
  steps: { wait: { handler: async (_i, ctx) => ctx.await.event({ kind: 'never.comes', timeout: 600 }) } },
})
const flows = [onEvent, onTrigger, sleeper, invoker, busy, halfDone, timesOut]

const prefix = 'runEnds'
const exporters = { producer: new InMemorySpanExporter(), worker: new InMemorySpanExporter(), next: new InMemorySpanExporter() }
const closers: Array<() => Promise<void>> = []
afterAll(async () => {
  for (const close of closers.splice(0)) await close()
})

function processOf(name: keyof typeof exporters, at = prefix): Runner {
  const store = createRedisStreamStore({ url: redis.url, prefix: at })
  const queue = createBullMQQueue({ url: redis.url, queueName: at })
  const tracerProvider = new BasicTracerProvider({
    idGenerator: createIdGenerator(),
    spanProcessors: [new SimpleSpanProcessor(exporters[name])],
  })
  const runner = createRunner({ store, queue, flows })
  instrumentRunner(runner, { tracerProvider })
  closers.push(async () => {
    await runner.stop()
    await Promise.all([queue.close(), store.close()])
  })
  return runner
}

const all = () => Object.values(exporters).flatMap((e) => e.getFinishedSpans())
const ofRun = (runId: string) => all().filter((s) => s.attributes['leanflow.run_id'] === runId)
const named = (spans: ReadableSpan[], name: string) => spans.filter((s) => s.name === name)

/** The run's span and the cut-off attempt's, checked: one each, the attempt under the run, ended with it. */
function cutOff(runId: string, run: string, step: string, status: string, awaited?: string) {
  const mine = ofRun(runId)
  const [runSpan, ...moreRuns] = named(mine, `run ${run}`)
  expect(runSpan, `${run}: its run span`).toBeDefined()
  expect(moreRuns).toEqual([])
  const steps = named(mine, `step ${step}`)
  expect(
    steps.map((s) => s.attributes['leanflow.attempt']),
    `${run}: one span for attempt 1 of ${step}`,
  ).toEqual([1])
  const [span] = steps as [ReadableSpan]
  expect(span.parentSpanContext?.spanId).toBe(runSpan?.spanContext().spanId)
  expect(span.spanContext().traceId).toBe(runSpan?.spanContext().traceId)
  expect(span.attributes['leanflow.ended_with_run']).toBe(status)
  expect(span.status.code).toBe(SpanStatusCode.UNSET)
  // it lasted from its start to the run's end
  expect(span.endTime).toEqual(runSpan?.endTime)
  expect(span.duration[0] * 1e3 + span.duration[1] / 1e6).toBeGreaterThanOrEqual(50)
  expect(span.events.map((e) => e.name)).toContain('leanflow.step.ended_with_run')
  // its await, recorded by another process than the one that ended it, is one of its span events
  if (awaited) expect(span.events.filter((e) => e.name === awaited).length, `${run}: its ${awaited}`).toBe(1)
  return span
}

describe('@leanflow/otel: attempts cut off by their run’s end', () => {
  it('suspended on an event, a trigger, a timer or a child run, or running, when another process cancels the run; suspended when another step fails it', async () => {
    const producer = processOf('producer')
    const worker = processOf('worker')
    await worker.start()
    const store = createRedisStreamStore({ url: redis.url, prefix })
    closers.push(() => store.close())
    const kinds = async (runId: string) => (await store.read(runId)).map((e) => e.kind)

    const started = {
      onEvent: (await producer.startFlow(onEvent, {})).runId,
      onTrigger: (await producer.startFlow(onTrigger, {})).runId,
      invoker: (await producer.startFlow(invoker, {})).runId,
      busy: (await producer.startFlow(busy, {})).runId,
      halfDone: (await producer.startFlow(halfDone, {})).runId,
    }
    for (const runId of [started.onEvent, started.onTrigger, started.invoker])
      await waitFor(async () => (await kinds(runId)).some((k) => k.startsWith('step.await.')), `${runId} suspended`)
    await waitFor(async () => (await kinds(started.busy)).includes('step.started'), 'busy running')
    const child = (await store.read(started.invoker)).find((e) => e.kind === 'step.await.run')?.data as { childRunId: string }
    await waitFor(async () => (await kinds(child.childRunId)).includes('step.await.time'), 'the child suspended')
    await new Promise((r) => setTimeout(r, 80))
    for (const runId of [started.onEvent, started.onTrigger, started.invoker, started.busy]) await producer.cancel(runId, 'operator')
    await expect(producer.result(started.halfDone, { timeout: '10s' })).rejects.toThrow(/out of stock/)
    await waitFor(async () => (await kinds(child.childRunId)).includes('flow.canceled'), 'the child canceled')
    await new Promise((r) => setTimeout(r, 200)) // the last deliveries to the observers

    expect(new Set(all().map((s) => s.spanContext().spanId)).size, 'no span twice').toBe(all().length)
    cutOff(started.onEvent, 'onEvent', 'wait', 'canceled', 'step.await.event')
    cutOff(started.onTrigger, 'onTrigger', 'approve', 'canceled', 'step.await.trigger')
    cutOff(started.invoker, 'invoker', 'call', 'canceled', 'step.await.run')
    // the cancel cascaded to the child: its timer's attempt ends with it
    cutOff(child.childRunId, 'sleeper', 'nap', 'canceled', 'step.await.time')
    cutOff(started.busy, 'busy', 'work', 'canceled')
    // the step that failed is ERROR; the one awaiting ended with the failed run
    cutOff(started.halfDone, 'halfDone', 'waits', 'failed')
    const [breaks] = named(ofRun(started.halfDone), 'step breaks')
    expect(breaks?.status).toMatchObject({ code: SpanStatusCode.ERROR, message: 'out of stock' })
  })

  it('an await that times out in another process than the one it suspended in: the failed attempt spans from its start', async () => {
    const at = 'runEnds-timeout'
    const first = processOf('worker', at)
    const next = processOf('next', at)
    await first.start()
    const store = createRedisStreamStore({ url: redis.url, prefix: at })
    closers.push(() => store.close())
    const { runId } = await first.startFlow(timesOut, {})
    await waitFor(async () => (await store.read(runId)).some((e) => e.kind === 'step.await.event'), 'suspended')
    // the first worker leaves; the next one gets the timeout, runs the step again and appends its failure
    await first.stop()
    await next.start()
    await expect(next.result(runId, { timeout: '10s' })).rejects.toThrow()
    await new Promise((r) => setTimeout(r, 200))
    const log = await store.read(runId)
    const stepStarted = Date.parse(log.find((e) => e.kind === 'step.started')?.ts ?? '')
    const failedAt = Date.parse(log.find((e) => e.kind === 'step.failed')?.ts ?? '')
    const [wait, ...more] = named(exporters.next.getFinishedSpans(), 'step wait')
    expect(more).toEqual([])
    expect(wait?.status.code).toBe(SpanStatusCode.ERROR)
    const ms = ([s, ns]: [number, number]) => s * 1e3 + ns / 1e6
    // from the attempt's start (give or take the store's clock against the event's time) to its failure
    expect(Math.abs(ms(wait?.startTime ?? [0, 0]) - stepStarted)).toBeLessThan(50)
    expect(Math.abs(ms(wait?.endTime ?? [0, 0]) - failedAt)).toBeLessThan(5)
  })
})
