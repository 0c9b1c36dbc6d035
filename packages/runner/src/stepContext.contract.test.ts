// Black-box checks of the step context and retry contract (DESIGN.md "Runner"), public entry points only.
import {
  createMemoryStreamStore,
  type EventRecord,
  isLeanflowError,
  type MemoryStreamStore,
  NonRetriableError,
  RetryAfterError,
} from '@leanflow/core'
import { afterEach, describe, expect, it } from 'vitest'
import { createRunner, DEFAULT_RETRY, defineFlow, type Runner, type StepHandler } from './index.js'

const TERMINAL = new Set(['flow.completed', 'flow.failed', 'flow.canceled'])
let store: MemoryStreamStore
const runners: Runner[] = []
const stores: MemoryStreamStore[] = []
afterEach(async () => {
  for (const r of runners.splice(0)) await r.stop()
  for (const s of stores.splice(0)) await s.close()
})

/** Runs a one-step flow to its end; returns the run's log. */
async function runStep(handler: StepHandler, extra: { retry?: object } = {}, during?: (runner: Runner, runId: string) => Promise<void>) {
  store = createMemoryStreamStore()
  stores.push(store)
  const runner = createRunner({ store, flows: [defineFlow({ name: 'one', steps: { s: { handler, ...extra } } })] })
  runners.push(runner)
  await runner.start()
  const { runId } = await runner.startFlow('one', { in: 1 })
  await during?.(runner, runId)
  const log: EventRecord[] = []
  const ac = new AbortController()
  const timer = setTimeout(() => ac.abort(), 10_000)
  for await (const e of store.follow(runId, { signal: ac.signal })) {
    log.push(e)
    if (TERMINAL.has(e.kind)) break
  }
  clearTimeout(timer)
  return { log, runner, runId }
}
const ofKind = (log: EventRecord[], kind: string) => log.filter((e) => e.kind === kind)

describe('step context', () => {
  it('logger → log, state.set/get → state.set, emit → a user kind; all step-scoped', async () => {
    let got: unknown
    const { log } = await runStep(async (_i, ctx) => {
      ctx.logger.debug('d')
      ctx.logger.info('i', { f: 1 })
      ctx.logger.warn('w')
      ctx.logger.error('e')
      await ctx.state.set('progress', { pct: 50 })
      got = await ctx.state.get('progress')
      await ctx.emit('order.packed', { box: 2 })
      return 'done'
    })
    expect(ofKind(log, 'log').map((e) => [e.step, e.data])).toEqual([
      ['s', { level: 'debug', msg: 'd' }],
      ['s', { level: 'info', msg: 'i', fields: { f: 1 } }],
      ['s', { level: 'warn', msg: 'w' }],
      ['s', { level: 'error', msg: 'e' }],
    ])
    expect(ofKind(log, 'state.set')[0]).toMatchObject({ step: 's', data: { key: 'progress', value: { pct: 50 } } })
    expect(got).toEqual({ pct: 50 })
    expect(ofKind(log, 'order.packed')[0]).toMatchObject({ step: 's', data: { box: 2 } })
    expect(log.at(-1)?.kind).toBe('flow.completed')
  })

  it('await.time: step.await.time { resumeAt }, then step.resumed { reason, awaitType, awaitDuration }, no second step.started', async () => {
    const { log } = await runStep(async (_i, ctx) => {
      await ctx.await.time('30ms')
      await ctx.await.time(20)
      await ctx.await.time(new Date(0))
      return 1
    })
    const awaits = ofKind(log, 'step.await.time')
    const resumed = ofKind(log, 'step.resumed')
    expect(awaits).toHaveLength(3)
    expect(resumed).toHaveLength(3)
    for (const [i, a] of awaits.entries()) {
      const at = (a.data as { resumeAt: string }).resumeAt
      expect(new Date(at).toISOString()).toBe(at)
      expect(resumed[i]?.data).toEqual({
        reason: expect.any(String),
        awaitType: 'time',
        awaitDuration: expect.any(Number),
        position: expect.any(Number),
      })
      expect(Date.parse(resumed[i]?.ts as string)).toBeGreaterThanOrEqual(Date.parse(at))
    }
    expect(ofKind(log, 'step.started')).toHaveLength(1)
  })

  it('cancel aborts ctx.signal of a running step and appends flow.canceled', async () => {
    let aborted = false
    let release = () => {}
    const { log } = await runStep(
      async (_i, ctx) => {
        ctx.signal.addEventListener('abort', () => {
          aborted = true
          release()
        })
        await new Promise<void>((r) => {
          release = r
        })
        return 'late'
      },
      {},
      async (runner, runId) => {
        for (let i = 0; i < 200 && ofKind(await store.read(runId), 'step.started').length === 0; i++)
          await new Promise((r) => setTimeout(r, 5))
        await runner.cancel(runId, 'enough')
      },
    )
    expect(log.at(-1)).toMatchObject({ kind: 'flow.canceled', data: { reason: 'enough' } })
    expect(aborted).toBe(true)
  })
})

describe('ctx.do', () => {
  const inside: Array<[string, (ctx: Parameters<StepHandler>[1]) => unknown]> = [
    ['ctx.do("inner")', (ctx) => ctx.do('inner', () => 1)],
    ['ctx.publish("k")', (ctx) => ctx.publish('k', 1)],
    ['ctx.await.time', (ctx) => ctx.await.time(5)],
    ['ctx.await.event', (ctx) => ctx.await.event({ kind: 'k', timeout: 5 })],
    ['ctx.await.trigger', (ctx) => ctx.await.trigger({ type: 'api' })],
    ['ctx.invoke', (ctx) => ctx.invoke('one', {})],
    ['ctx.patched', (ctx) => ctx.patched('p')],
  ]
  for (const [label, call] of inside) {
    it(`${label} inside the fn of a ctx.do fails the attempt at the call, naming both (it waited forever on the outer one)`, async () => {
      let effects = 0
      const { log } = await runStep(
        async (_i, ctx) =>
          ctx.do('outer', async () => {
            effects++
            return await call(ctx)
          }),
        { retry: { attempts: 1 } },
      )
      expect(log.at(-1)?.kind).toBe('flow.failed')
      expect(ofKind(log, 'step.failed')[0]?.data).toMatchObject({
        error: expect.stringContaining(`${label} was called inside the fn of ctx.do("outer")`),
      })
      expect(effects).toBe(1)
    })
  }

  it('ctx calls beside a running ctx.do (Promise.all) are not nested: they run', async () => {
    const { log } = await runStep(async (_i, ctx) =>
      Promise.all([
        ctx.do('slow', async () => {
          await new Promise((r) => setTimeout(r, 20))
          return 1
        }),
        ctx.do('fast', () => 2),
        ctx.await.time(5).then(() => 3),
      ]),
    )
    expect(log.at(-1)).toMatchObject({ kind: 'flow.completed', data: { result: { s: [1, 2, 3] } } })
  })
})

describe('retries', () => {
  it('the default policy is 3 attempts, exponential 1000 ms, cap 30 s', () => {
    expect(DEFAULT_RETRY).toMatchObject({ attempts: 3, backoff: { type: 'exponential', delayMs: 1000, maxDelayMs: 30_000 } })
  })

  it('ctx.do results belong to the step: a retry does not repeat a completed effect', async () => {
    let effects = 0
    let tries = 0
    const { log } = await runStep(
      async (_i, ctx) => {
        tries++
        const charge = await ctx.do('charge', () => `ch_${++effects}`)
        if (tries === 1) throw new Error('after the effect')
        return charge
      },
      { retry: { attempts: 2, backoff: { type: 'fixed', delayMs: 5 } } },
    )
    expect(log.at(-1)).toMatchObject({ kind: 'flow.completed', data: { result: { s: 'ch_1' } } })
    expect(effects).toBe(1)
    expect(tries).toBe(2)
  })

  it('RetryAfterError(ms) sets the delay of step.retry', async () => {
    let tries = 0
    const { log } = await runStep(async () => {
      if (++tries === 1) throw new RetryAfterError(40)
      return 'ok'
    })
    expect(ofKind(log, 'step.retry')[0]).toMatchObject({ data: { delayMs: 40 }, meta: { attempt: 2 } })
    expect(log.at(-1)?.kind).toBe('flow.completed')
  })

  it('attempts: 1 never retries; NonRetriableError and an uncaught await timeout fail at once', async () => {
    const once = await runStep(
      async () => {
        throw new Error('x')
      },
      { retry: { attempts: 1 } },
    )
    expect(ofKind(once.log, 'step.started')).toHaveLength(1)
    expect(once.log.at(-1)?.kind).toBe('flow.failed')
    const nr = await runStep(async () => {
      throw new NonRetriableError('no')
    })
    expect(ofKind(nr.log, 'step.retry')).toEqual([])
    let triggerId = ''
    const timedOut = await runStep(async (_i, ctx) => {
      const t = await ctx.await.trigger({ type: 'api', timeout: '50ms' })
      triggerId = t.id
      return await t.wait()
    })
    expect(ofKind(timedOut.log, 'step.await.timeout')[0]?.data).toEqual({
      awaitType: 'trigger',
      timeoutAt: expect.any(String),
      position: 0,
    })
    expect(ofKind(timedOut.log, 'step.failed').map((e) => (e.data as { willRetry: boolean }).willRetry)).toEqual([false])
    expect(timedOut.log.at(-1)?.kind).toBe('flow.failed')
    const late = await timedOut.runner.resolveTrigger(triggerId, 1).catch((e: unknown) => e)
    expect(isLeanflowError(late, 'TRIGGER_CONFLICT')).toBe(true)
  })
})
