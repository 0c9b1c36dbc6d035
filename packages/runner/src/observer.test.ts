import { createMemoryStreamStore, type EventRecord, isLeanflowError } from '@leanflow/core'
import { describe, expect, it } from 'vitest'
import { defineFlow } from './defineFlow.js'
import type { EventInfo, RunStart } from './observer.js'
import { createRunner } from './runner.js'

const TP = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'

const child = defineFlow({ name: 'child', steps: { only: { handler: async () => 2 } } })
const parent = defineFlow({
  name: 'parent',
  steps: {
    a: { handler: async () => 1 },
    b: { needs: ['a'], handler: async (_input, ctx) => ctx.invoke('child', {}) },
  },
})

describe('runner.observe', () => {
  it('tells each event this process appended, with its run flow.started, in the order of the log; startMeta and traceparent land in flow.started.meta', async () => {
    const store = createMemoryStreamStore()
    const errors: unknown[] = []
    const runner = createRunner({ store, flows: [parent, child], onError: (e) => errors.push(e) })
    const seen: Array<{ e: EventRecord; flow: string }> = []
    const starts: RunStart[] = []
    const stop = runner.observe({
      onEvent: (e, started) => seen.push({ e, flow: started.data.name }),
      startMeta: (s) => {
        starts.push(s)
        return { tag: s.flow }
      },
    })
    runner.observe({
      onEvent: () => {
        throw new Error('observer bug')
      },
    })
    await runner.start()
    const { runId } = await runner.startFlow(parent, {}, { traceparent: TP })
    await runner.result(runId, { timeout: '5s' })
    const log = await store.read(runId, { limit: 1000 })
    const mine = seen.filter((s) => s.e.flow === runId)
    expect(mine.map((s) => s.e.id).sort()).toEqual(log.map((e) => e.id))
    expect(mine.every((s) => s.flow === 'parent')).toBe(true)
    expect(log[0]?.meta).toEqual({ tag: 'parent', traceparent: TP })
    // the child run: startMeta saw the invoking step and its attempt
    const childStart = starts.find((s) => s.flow === 'child')
    expect(childStart?.parent).toMatchObject({ runId, step: 'b', attempt: 1 })
    expect(childStart?.parent?.started?.meta?.traceparent).toBe(TP)
    expect(seen.some((s) => s.flow === 'child' && s.e.kind === 'flow.completed')).toBe(true)
    expect(errors.length).toBeGreaterThan(0) // the throwing observer went to onError
    stop()
    const before = seen.length
    const again = await runner.startFlow(child, {})
    await runner.result(again.runId, { timeout: '5s' })
    expect(seen.length).toBe(before)
    await runner.stop()
  })

  it('refuses a malformed traceparent, naming it, before anything is written', async () => {
    const store = createMemoryStreamStore()
    const runner = createRunner({ store, flows: [child] })
    for (const bad of ['nope', `ff${TP.slice(2)}`, '00-00000000000000000000000000000000-00f067aa0ba902b7-01', 42]) {
      const err = await runner.startFlow(child, {}, { traceparent: bad as string }).catch((e: unknown) => e)
      expect(isLeanflowError(err, 'INVALID_ARGUMENT')).toBe(true)
      expect((err as Error).message).toContain(JSON.stringify(bad))
    }
    expect(() => runner.observe(null as never)).toThrow(/runner\.observe observer null: pass an object/)
    expect(await store.listFlows()).toEqual([])
  })

  it('an async observer that rejects goes to onError, never an unhandled rejection, and the run goes on', async () => {
    const unhandled: unknown[] = []
    const onUnhandled = (reason: unknown) => unhandled.push(reason)
    process.on('unhandledRejection', onUnhandled)
    try {
      const errors: unknown[] = []
      const runner = createRunner({ store: createMemoryStreamStore(), flows: [parent, child], onError: (e) => errors.push(e) })
      runner.observe({
        onEvent: (async () => {
          throw new Error('async onEvent bug')
        }) as never,
        startMeta: (async () => {
          throw new Error('async startMeta bug')
        }) as never,
      })
      await runner.start()
      const { runId } = await runner.startFlow(parent, {})
      expect(await runner.result(runId, { timeout: '5s' })).toEqual({ b: { only: 2 } })
      await runner.stop()
      await new Promise((r) => setTimeout(r, 20))
      const messages = errors.map((e) => (e as Error).message)
      expect(messages).toContain('async onEvent bug')
      expect(messages).toContain('async startMeta bug')
      expect(unhandled).toEqual([])
    } finally {
      process.off('unhandledRejection', onUnhandled)
    }
  })

  it('a startMeta that returns what flow.started cannot hold (a bigint, no object, over 8 KiB) goes to onError; the run starts without it', async () => {
    const errors: unknown[] = []
    const store = createMemoryStreamStore()
    const runner = createRunner({ store, flows: [child], onError: (e) => errors.push(e) })
    runner.observe({ startMeta: () => ({ tenant: 'acme' }) })
    runner.observe({ startMeta: () => ({ spanId: 10n }) as never })
    runner.observe({ startMeta: () => 'acme' as never })
    runner.observe({ startMeta: () => ({ blob: 'x'.repeat(2_000_000) }) })
    await runner.start()
    // every start failed with INVALID_EVENT: a telemetry bug stopped the application
    const { runId } = await runner.startFlow(child, {}, { traceparent: TP })
    expect(await runner.result(runId, { timeout: '5s' })).toEqual({ only: 2 })
    await runner.stop()
    expect((await store.read(runId))[0]?.meta).toEqual({ tenant: 'acme', traceparent: TP })
    expect(errors.map((e) => (isLeanflowError(e, 'INVALID_ARGUMENT') ? e.message : e))).toEqual([
      expect.stringMatching(
        /^runner\.observe startMeta returned an object that is not JSON \(.*BigInt.*\): return an object of JSON fields/,
      ),
      'runner.observe startMeta returned "acme": return an object of JSON fields (or nothing); the run starts without it.',
      // over the event limit, every start failed with PAYLOAD_TOO_LARGE
      "runner.observe startMeta returned 2000011 bytes of JSON, over the 8192 a run's flow.started.meta takes from observers: return an object of JSON fields (or nothing); the run starts without it.",
    ])
  })

  it('a terminal event comes with the attempts its end cut off (suspended or running); other events with none', async () => {
    const store = createMemoryStreamStore()
    const waiter = defineFlow({
      name: 'waiter',
      steps: {
        done: { handler: async () => 1 },
        // awaits 300 ms after it started: its await's time and its attempt's start are told apart
        waits: {
          handler: async (_input, ctx) => {
            await new Promise((r) => setTimeout(r, 300))
            return ctx.await.event({ kind: 'never' })
          },
        },
        runs: {
          handler: async (_input, ctx) =>
            new Promise((_resolve, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('aborted')))),
        },
      },
    })
    const runner = createRunner({ store, flows: [waiter] })
    const ends: Array<{ kind: string; end: EventInfo | undefined }> = []
    runner.observe({ onEvent: (e, _started, info) => ends.push({ kind: e.kind, end: info }) })
    await runner.start()
    const { runId } = await runner.startFlow(waiter, {})
    for (let i = 0; i < 500 && !ends.some((e) => e.kind === 'step.await.event'); i++) await new Promise((r) => setTimeout(r, 10))
    await runner.cancel(runId, 'bye')
    await new Promise((r) => setTimeout(r, 20))
    await runner.stop()
    const steps = Object.fromEntries((await store.read(runId)).filter((e) => e.kind === 'step.started').map((e) => [e.step, e.ts]))
    expect(ends.filter((e) => e.kind !== 'flow.canceled').every((e) => e.end === undefined)).toBe(true)
    const canceled = ends.find((e) => e.kind === 'flow.canceled')
    const open = canceled?.end?.open?.sort((a, b) => a.step.localeCompare(b.step))
    expect(open).toEqual([
      { step: 'runs', attempt: 1, startedAt: expect.any(String), suspended: false },
      {
        step: 'waits',
        attempt: 1,
        startedAt: expect.any(String),
        suspended: true,
        awaits: [{ type: 'event', position: 0, since: expect.any(String) }],
      },
    ])
    // the await's time is its step.await.event's
    const awaited = (await store.read(runId)).find((e) => e.kind === 'step.await.event')
    // (within 200 ms, a loaded machine's write: the attempt's start is 300 ms away)
    expect(Math.abs(Date.parse(open?.[1]?.awaits?.[0]?.since ?? '') - Date.parse(awaited?.ts ?? ''))).toBeLessThan(200)
    // when each attempt started, by the store's clock (its step.started's time, give or take the write)
    for (const a of open ?? []) expect(Math.abs(Date.parse(a.startedAt) - Date.parse(steps[a.step] ?? ''))).toBeLessThan(200)
  })

  it('a step.failed comes with when its attempt started (a retried one too)', async () => {
    const store = createMemoryStreamStore()
    const failing = defineFlow({
      name: 'failing',
      steps: {
        once: {
          retry: { attempts: 2, backoff: { type: 'fixed', delayMs: 1 } },
          handler: async () => {
            await new Promise((r) => setTimeout(r, 30))
            throw new Error('no')
          },
        },
      },
    })
    const runner = createRunner({ store, flows: [failing] })
    const failures: Array<{ attempt: number | undefined; ts: string; info: EventInfo | undefined }> = []
    runner.observe({
      onEvent: (e, _started, info) => e.kind === 'step.failed' && failures.push({ attempt: e.meta?.attempt, ts: e.ts, info }),
    })
    await runner.start()
    const { runId } = await runner.startFlow(failing, {})
    await expect(runner.result(runId, { timeout: '5s' })).rejects.toThrow('no')
    await runner.stop()
    const starts = new Map(
      (await store.read(runId)).filter((e) => e.kind === 'step.started').map((e) => [e.meta?.attempt, Date.parse(e.ts)]),
    )
    expect(failures.map((f) => f.attempt)).toEqual([1, 2])
    for (const f of failures) {
      const told = Date.parse(f.info?.attemptStartedAt ?? '')
      expect(Math.abs(told - (starts.get(f.attempt) ?? 0))).toBeLessThan(20)
      expect(Date.parse(f.ts) - told).toBeGreaterThanOrEqual(25)
    }
  })
})
