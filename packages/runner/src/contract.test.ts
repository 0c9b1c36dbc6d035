// Black-box checks of @leanflow/runner against DESIGN.md ("Runner"), public entry points only, memory store.
import { createMemoryStreamStore, type EventRecord, isLeanflowError, type MemoryStreamStore } from '@leanflow/core'
import { afterEach, describe, expect, it } from 'vitest'
import { createRunner, defineFlow, type Runner, type TriggerHandle } from './index.js'

const ID = /^[A-Za-z0-9]{21}$/
const TERMINAL = new Set(['flow.completed', 'flow.failed', 'flow.canceled'])

let store: MemoryStreamStore
const runners: Runner[] = []
afterEach(async () => {
  for (const r of runners.splice(0)) await r.stop()
  await store?.close()
})

function make(...flows: Parameters<typeof defineFlow>[0][]): Runner {
  store = createMemoryStreamStore()
  const runner = createRunner({ store, flows: flows.map((f) => defineFlow(f)) })
  runners.push(runner)
  return runner
}

/** Follows a run until an event matching `pred` (default: terminal) appears; returns the log so far. */
async function until(runId: string, pred: (e: EventRecord) => boolean = (e) => TERMINAL.has(e.kind)): Promise<EventRecord[]> {
  const ac = new AbortController()
  const timer = setTimeout(() => ac.abort(), 10_000)
  const seen: EventRecord[] = []
  try {
    for await (const e of store.follow(runId, { signal: ac.signal })) {
      seen.push(e)
      if (pred(e)) return seen
    }
  } finally {
    clearTimeout(timer)
    ac.abort()
  }
  throw new Error(`run ${runId} ended without the expected event: ${seen.map((e) => e.kind).join(',')}`)
}

const ok = async () => 'ok'

describe('defineFlow and startFlow', () => {
  it('refuses reserved and hostile flow names, hostile step names, cycles and unknown needs', () => {
    for (const name of ['runs', 'triggers', 'events', 'a:b', '', 'a b']) {
      expect(() => defineFlow({ name, steps: { s: { handler: ok } } }), name).toThrow(expect.objectContaining({ code: 'INVALID_NAME' }))
    }
    for (const step of ['a:b', '{x}', 'a\n', '*']) {
      expect(() => defineFlow({ name: 'f', steps: { [step]: { handler: ok } } })).toThrow(expect.objectContaining({ code: 'INVALID_NAME' }))
    }
    // a cycle and an unknown need: INVALID_ARGUMENT, naming the steps involved
    expect(() => defineFlow({ name: 'f', steps: { a: { needs: ['b'], handler: ok }, b: { needs: ['a'], handler: ok } } })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/cycle: (a -> b -> a|b -> a -> b)/) }),
    )
    expect(() => defineFlow({ name: 'f', steps: { a: { needs: ['a'], handler: ok } } })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/"a".*cycle a -> a/) }),
    )
    expect(() => defineFlow({ name: 'f', steps: { a: { needs: ['nope'], handler: ok } } })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/Step "a" .*needs "nope"/) }),
    )
  })

  it('generated run ids are 21 chars of [A-Za-z0-9]; startFlow works without start(); idempotencyKey dedupes', async () => {
    let ran = 0
    const runner = make({ name: 'f', steps: { s: { handler: () => ran++ } } })
    const ids = await Promise.all(Array.from({ length: 50 }, () => runner.startFlow('f', { n: 1 })))
    for (const { runId } of ids) expect(runId).toMatch(ID)
    const first = ids[0]?.runId as string
    const log = await store.read(first)
    expect(log.map((e) => e.kind)).toEqual(['flow.started'])
    expect(log[0]?.flow).toBe(first)
    expect(log[0]?.data).toEqual({ name: 'f', version: 1, input: { n: 1 }, steps: { s: { needs: [] } } })
    const a = await runner.startFlow('f', {}, { idempotencyKey: 'k1' })
    const b = await runner.startFlow('f', {}, { idempotencyKey: 'k1' })
    expect(b.runId).toBe(a.runId)
    expect(await runner.startFlow('f', {}, { runId: 'my-run.1' })).toEqual({ runId: 'my-run.1' })
    await expect(runner.startFlow('f', {}, { runId: 'bad:id' })).rejects.toMatchObject({ code: 'INVALID_NAME' })
    await expect(runner.startFlow('nope', {})).rejects.toSatisfy(isLeanflowError)
    expect(ran).toBe(0)
    // waiting for a run no worker takes (the memory queue, no runner started): the timeout says to start one
    await expect(runner.result(first, { timeout: '50ms' })).rejects.toMatchObject({
      code: 'AWAIT_TIMEOUT',
      message: expect.stringMatching(/did not end within 50 ms\. No worker takes its jobs: .*Call runner\.start\(\)\.$/),
    })
    await runner.start()
    await runner.result(first, { timeout: '5s' })
    await runner.stop()
  })
})

describe('execution', () => {
  it('ctx.results is transitive; flow.completed.result is keyed by sink steps; ctx fields', async () => {
    const seen: Record<string, unknown> = {}
    const runner = make({
      name: 'dag',
      steps: {
        a: { handler: async (input) => (input as { x: number }).x + 1 },
        b: { needs: ['a'], handler: async (_i, ctx) => (ctx.results.a as number) * 10 },
        c: {
          needs: ['b'],
          handler: async (_i, ctx) => {
            Object.assign(seen, { results: { ...ctx.results }, step: ctx.step, attempt: ctx.attempt, runId: ctx.runId })
            expect(ctx.signal).toBeInstanceOf(AbortSignal)
            return 'c'
          },
        },
        d: { needs: ['a'], handler: async () => 'd' },
      },
    })
    await runner.start()
    const { runId } = await runner.startFlow('dag', { x: 1 })
    const log = await until(runId)
    const end = log.at(-1)
    expect(end?.kind).toBe('flow.completed')
    expect(end?.data).toEqual({ result: { c: 'c', d: 'd' }, duration: expect.any(Number) })
    expect(seen).toEqual({ results: { a: 2, b: 20 }, step: 'c', attempt: 1, runId })
    const started = log.filter((e) => e.kind === 'step.started')
    expect(started.map((e) => e.meta?.attempt)).toEqual([1, 1, 1, 1])
    expect(log.find((e) => e.kind === 'step.completed' && e.step === 'a')?.data).toMatchObject({ result: 2 })
  })

  it('retries: step.failed { error: string, willRetry, nextRetryAt? }, step.retry meta.attempt = the next attempt', async () => {
    const runner = make({
      name: 'flaky',
      steps: {
        s: {
          retry: { attempts: 3, backoff: { type: 'fixed', delayMs: 10 } },
          handler: async () => {
            throw new Error('boom')
          },
        },
      },
    })
    await runner.start()
    const { runId } = await runner.startFlow('flaky', {})
    const log = await until(runId)
    expect(log.at(-1)?.kind).toBe('flow.failed')
    expect(log.at(-1)?.data).toMatchObject({ error: expect.any(String), duration: expect.any(Number) })
    const failed = log.filter((e) => e.kind === 'step.failed')
    expect(failed.map((e) => (e.data as { willRetry: boolean }).willRetry)).toEqual([true, true, false])
    for (const f of failed) expect((f.data as { error: unknown }).error).toBe('boom')
    const nextRetryAt = (failed[0]?.data as { nextRetryAt?: string } | undefined)?.nextRetryAt
    expect(Number.isNaN(Date.parse(nextRetryAt ?? 'x'))).toBe(false)
    const retries = log.filter((e) => e.kind === 'step.retry')
    expect(retries.map((e) => e.meta?.attempt)).toEqual([2, 3])
    expect(retries[0]?.data).toMatchObject({ reason: expect.any(String), delayMs: expect.any(Number) })
    expect(log.filter((e) => e.kind === 'step.started').map((e) => e.meta?.attempt)).toEqual([1, 2, 3])
  })

  it('NonRetriableError fails at once; a plain Error retries by default', async () => {
    const { NonRetriableError } = await import('@leanflow/core')
    let tries = 0
    const runner = make({
      name: 'nr',
      steps: {
        s: {
          handler: async () => {
            tries++
            throw new NonRetriableError('no')
          },
        },
      },
    })
    await runner.start()
    const { runId } = await runner.startFlow('nr', {})
    const log = await until(runId)
    expect(log.at(-1)?.kind).toBe('flow.failed')
    expect(tries).toBe(1)
    expect(log.filter((e) => e.kind === 'step.failed').map((e) => e.data)).toEqual([{ error: 'no', willRetry: false }])
  })
})

describe('awaits', () => {
  it('await.trigger: id exists and step.await.trigger is appended before wait(); a resolve before wait() is kept', async () => {
    let handle: TriggerHandle | undefined
    let before: string[] = []
    let resolved: unknown
    const runner: Runner = make({
      name: 'trig',
      steps: {
        s: {
          handler: async (_i, ctx) => {
            const t = await ctx.await.trigger({ type: 'webhook', payload: { to: 'x' }, timeout: '5s' })
            handle = t
            if (resolved === undefined) {
              before = (await store.read(ctx.runId)).map((e) => e.kind)
              resolved = await runner.resolveTrigger(t.id, { approved: true })
            }
            return await t.wait()
          },
        },
      },
    })
    await runner.start()
    const { runId } = await runner.startFlow('trig', {})
    const log = await until(runId)
    expect(handle?.id).toMatch(ID)
    expect(before).toContain('step.await.trigger')
    expect(resolved).toEqual({ runId, step: 's' })
    const awaitEv = log.find((e) => e.kind === 'step.await.trigger')
    expect(awaitEv?.data).toMatchObject({
      triggerId: handle?.id,
      triggerType: 'webhook',
      payload: { to: 'x' },
      timeoutAt: expect.any(String),
    })
    expect(log.at(-1)?.data).toMatchObject({ result: { s: { approved: true } } })
    await expect(runner.resolveTrigger(handle?.id as string, {})).rejects.toMatchObject({
      code: 'TRIGGER_CONFLICT',
      name: 'TriggerConflictError',
    })
    await expect(runner.resolveTrigger('unknownTrigger', {})).rejects.toMatchObject({
      code: 'TRIGGER_NOT_FOUND',
      name: 'TriggerNotFoundError',
    })
  })

  it('await.event with a function in its options throws INVALID_ARGUMENT before anything is stored', async () => {
    const runner = make({
      name: 'fn',
      steps: {
        s: {
          handler: async (_i, ctx) => {
            try {
              await ctx.await.event({ kind: 'paid', match: { 'data.id': (() => 1) as unknown as string } })
            } catch (err) {
              return (err as { code?: string }).code
            }
            return 'no error'
          },
        },
      },
    })
    await runner.start()
    const { runId } = await runner.startFlow('fn', {})
    const log = await until(runId)
    expect(log.at(-1)?.data).toMatchObject({ result: { s: 'INVALID_ARGUMENT' } })
    expect(log.some((e) => e.kind === 'step.await.event')).toBe(false)
  })

  it('an event published before startFlow never matches; after startFlow (before the await registers) it does; timeout "300ms"', async () => {
    const runner = make({
      name: 'ev',
      steps: {
        s: {
          handler: async (raw, ctx) => {
            const input = raw as { tag: string }
            try {
              const e = await ctx.await.event({ kind: 'paid', match: { 'data.tag': input.tag }, timeout: '300ms' })
              return e
            } catch (err) {
              return isLeanflowError(err, 'AWAIT_TIMEOUT') ? 'timeout' : String(err)
            }
          },
        },
      },
    })
    await runner.publishEvent({ kind: 'paid', data: { tag: 'early' } })
    const early = await runner.startFlow('ev', { tag: 'early' })
    const late = await runner.startFlow('ev', { tag: 'late' })
    const pub = await runner.publishEvent({ kind: 'paid', data: { tag: 'late' } })
    await runner.start()
    const earlyLog = await until(early.runId)
    expect(earlyLog.at(-1)?.data).toMatchObject({ result: { s: 'timeout' } })
    const to = earlyLog.find((e) => e.kind === 'step.await.timeout')
    expect(to?.data).toMatchObject({ awaitType: 'event', timeoutAt: expect.any(String) })
    const lateLog = await until(late.runId)
    expect(lateLog.at(-1)?.data).toMatchObject({
      result: { s: { id: pub.id, kind: 'paid', data: { tag: 'late' }, ts: expect.any(String) } },
    })
    expect(lateLog.find((e) => e.kind === 'step.await.event')?.data).toMatchObject({ eventKind: 'paid', match: { 'data.tag': 'late' } })
    expect(lateLog.find((e) => e.kind === 'step.resumed')?.data).toMatchObject({ awaitType: 'event' })
  })

  it('cancel works without start(): flow.canceled, and later resolves are refused', async () => {
    let triggerId = ''
    const runner = make({
      name: 'c',
      steps: {
        s: {
          handler: async (_i, ctx) => {
            const t = await ctx.await.trigger({ type: 'user' })
            triggerId = t.id
            return await t.wait()
          },
        },
      },
    })
    await runner.start()
    const { runId } = await runner.startFlow('c', {})
    await until(runId, (e) => e.kind === 'step.await.trigger')
    await runner.stop()
    const producer = createRunner({ store, flows: runner.flows })
    await producer.cancel(runId, 'user said so')
    const log = await until(runId)
    expect(log.at(-1)).toMatchObject({ kind: 'flow.canceled', data: { reason: 'user said so' } })
    await expect(producer.resolveTrigger(triggerId, {})).rejects.toMatchObject({ code: 'TRIGGER_CONFLICT' })
  })
})

describe('hostile input to the runner', () => {
  it('deeply nested input and event data are refused with INVALID_ARGUMENT, not a stack overflow', async () => {
    const deep = JSON.parse(`${'['.repeat(20_000)}${']'.repeat(20_000)}`)
    const runner = createRunner({
      store: createMemoryStreamStore(),
      flows: [defineFlow({ name: 'deep', steps: { a: { handler: () => 1 } } })],
    })
    await expect(runner.startFlow('deep', deep)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    await expect(runner.publishEvent({ kind: 'k', data: deep })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
  })
})
