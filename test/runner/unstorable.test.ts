// What a step hands the runner that no event can hold — a result over the store's 1 MiB event
// limit, a result JSON cannot hold (cyclic, a BigInt), an error message of megabytes, a log line
// over the limit — fails the step with a clear, typed error, and the run ends (DESIGN "Errors",
// "bad input gets a clear, typed error and nothing is lost or half-written"). Before, each of these
// left the run running forever: the run's document said the step had completed (or was retrying)
// while its log never got the event, so `runner.result`, SSE and the reducer waited for good.
import { isLeanflowError, reduceFlow } from '@leanflow/core'
import { defineFlow, type Runner, type RunnerStore } from '@leanflow/runner'
import { expect, it } from 'vitest'
import { describeOnStores } from '../fixtures/runnerOnStores.js'

const MiB = 1024 * 1024
const once = { attempts: 1 }

const big = defineFlow({ name: 'big', steps: { s: { retry: once, handler: async () => 'x'.repeat(MiB + 100) } } })
const cyclic = defineFlow({
  name: 'cyclic',
  steps: {
    s: {
      retry: once,
      handler: async () => {
        const o: Record<string, unknown> = {}
        o.self = o
        return o
      },
    },
  },
})
/** A result 600 arrays deep (over the 512 levels every stored value keeps to), made without recursion. */
const deep = defineFlow({
  name: 'deep',
  steps: {
    s: {
      retry: once,
      handler: async () => {
        let v: unknown = 1
        for (let i = 0; i < 600; i++) v = [v]
        return v as number
      },
    },
  },
})
const bigint = defineFlow({ name: 'bigint', steps: { s: { retry: once, handler: async () => 10n as unknown as number } } })
const hugeError = defineFlow({
  name: 'hugeError',
  steps: {
    s: {
      retry: once,
      handler: async () => {
        throw new Error('e'.repeat(2 * MiB))
      },
    },
  },
})
const hugeLog = defineFlow({
  name: 'hugeLog',
  steps: {
    s: {
      retry: once,
      handler: async (_input, ctx) => {
        ctx.logger.info('blob', { blob: 'x'.repeat(MiB + 100) })
        return 1
      },
    },
  },
})
// two sink steps whose results fit one by one, not together in flow.completed
const half = 'x'.repeat(600 * 1024)
const twoSinks = defineFlow({
  name: 'twoSinks',
  steps: { a: { handler: async () => half }, b: { handler: async () => half } },
})
// awaits whose own event could not hold what they carry: refused at the call, before anything is recorded
const over = 'y'.repeat(MiB + 10)
const child = defineFlow({ name: 'child', steps: { c: { handler: async (input: string) => input.length } } })
const bigInvoke = defineFlow({ name: 'bigInvoke', steps: { s: { retry: once, handler: async (_i, ctx) => ctx.invoke(child, over) } } })
const bigTrigger = defineFlow({
  name: 'bigTrigger',
  steps: {
    s: {
      retry: once,
      handler: async (_i, ctx) => {
        await ctx.await.trigger({ type: 'approval', payload: over })
        return 1
      },
    },
  },
})
const bigMatch = defineFlow({
  name: 'bigMatch',
  steps: { s: { retry: once, handler: async (_i, ctx) => ctx.await.event({ kind: 'paid', match: { 'data.id': over } }) } },
})
// a match value that is undefined (a misspelt input field): JSON drops it, and the await matched any event of the kind
const undefinedMatch = defineFlow({
  name: 'undefinedMatch',
  steps: {
    s: {
      retry: once,
      handler: async (input: { orderID?: string }, ctx) =>
        (await ctx.await.event({ kind: 'paid.undef', match: { 'data.orderId': input.orderID }, timeout: '5s' })).data,
    },
  },
})
// match values JSON would drop (a symbol: any event of the kind) or change (NaN, a Map): refused at the call
/** Match values JSON would drop or change, by name. */
const LOST: Record<string, () => unknown> = {
  symbol: () => Symbol('x'),
  nan: () => Number.NaN,
  map: () => new Map([['a', 1]]),
  nested: () => ({ lines: [1, Number.POSITIVE_INFINITY] }),
  undefinedInArray: () => [undefined], // would match [null]
  undefinedInObject: () => ({ id: undefined }), // would match {}
}
const lostMatch = defineFlow<{ how: string }>({
  name: 'lostMatch',
  steps: {
    s: {
      retry: once,
      handler: async (input, ctx) => {
        const value = LOST[input.how]?.()
        return (await ctx.await.event({ kind: 'paid.lost', match: { 'data.a': value }, timeout: '5s' })).data
      },
    },
  },
})
// a state value its state.set event cannot hold: refused before the run's state takes it
const bigState = defineFlow({
  name: 'bigState',
  steps: {
    s: {
      retry: { attempts: 2, backoff: { type: 'fixed', delayMs: 10 } },
      handler: async (_i, ctx) => {
        if (ctx.attempt === 1) await ctx.state.set('blob', over)
        return typeof (await ctx.state.get('blob'))
      },
    },
  },
})
// awaits a trigger, returns the payload's length: resolved by the test
const approval = defineFlow({
  name: 'approval',
  steps: { s: { handler: async (_i, ctx) => (await (await ctx.await.trigger<string>({ type: 'approval' })).wait()).length } },
})
// waits an hour: canceled by the test
const waiting = defineFlow({
  name: 'waiting',
  steps: {
    s: {
      handler: async (_i, ctx) => {
        await ctx.await.time('1h')
      },
    },
  },
})
// one more attempt after the refused one, to show the failure is an ordinary, retried attempt
const retried = defineFlow({
  name: 'retried',
  steps: {
    s: {
      retry: { attempts: 2, backoff: { type: 'fixed', delayMs: 10 } },
      handler: async (_input, ctx) => (ctx.attempt === 1 ? 'x'.repeat(MiB + 100) : 'small'),
    },
  },
})

async function outcome(runner: Runner, store: RunnerStore, flow: string) {
  const { runId } = await runner.startFlow(flow, {})
  let error: unknown
  let result: unknown
  try {
    result = await runner.result(runId, { timeout: '10s' })
  } catch (err) {
    error = err
  }
  const events = await store.read(runId)
  return { runId, result, error, events, state: reduceFlow(events) }
}

describeOnStores(
  {
    flows: [
      big,
      cyclic,
      deep,
      bigint,
      hugeError,
      hugeLog,
      retried,
      twoSinks,
      child,
      bigInvoke,
      bigTrigger,
      bigMatch,
      undefinedMatch,
      lostMatch,
      bigState,
      waiting,
      approval,
    ],
    prefix: 'unstorable',
  },
  (runner, store) => {
    it('a step result over the event limit fails the step with PAYLOAD_TOO_LARGE; the run fails', async () => {
      const { error, state, events } = await outcome(runner(), store(), 'big')
      expect(isLeanflowError(error, 'RUN_FAILED')).toBe(true)
      expect(state.status).toBe('failed')
      expect(state.steps.s?.status).toBe('failed')
      expect(state.steps.s?.error).toMatch(/result of step "s" is \d+ bytes.*limit of 1048576 bytes/)
      expect(events.map((e) => e.kind)).toEqual(['flow.started', 'step.started', 'step.failed', 'flow.failed'])
    })

    it('a result JSON cannot hold (cyclic, BigInt) fails the step with INVALID_ARGUMENT naming it', async () => {
      for (const flow of ['cyclic', 'bigint']) {
        const { state } = await outcome(runner(), store(), flow)
        expect(state.status).toBe('failed')
        expect(state.steps.s?.error).toMatch(/result of step "s" is not JSON-serializable/)
      }
    })

    it('a result nested more than 512 levels deep fails the step with INVALID_ARGUMENT naming it; nothing of it is stored', async () => {
      const { state, events } = await outcome(runner(), store(), 'deep')
      expect(state.status).toBe('failed')
      expect(state.steps.s?.error).toMatch(/result of step "s" nests arrays and objects more than 512 levels deep/)
      expect(events.map((e) => e.kind)).toEqual(['flow.started', 'step.started', 'step.failed', 'flow.failed'])
    })

    it('an error message of megabytes is cut, so the failure is stored and the run fails', async () => {
      const { state } = await outcome(runner(), store(), 'hugeError')
      expect(state.status).toBe('failed')
      expect(state.steps.s?.error?.startsWith('eeee')).toBe(true)
      expect(state.steps.s?.error?.length).toBeLessThan(20_000)
      expect(state.error).toMatch(/more characters\)$/)
    })

    it('a log line over the event limit fails the step (not handed back and run again forever)', async () => {
      const { state, events } = await outcome(runner(), store(), 'hugeLog')
      expect(state.status).toBe('failed')
      expect(state.steps.s?.error).toMatch(/PAYLOAD_TOO_LARGE|over the limit/)
      expect(events.filter((e) => e.kind === 'step.started')).toHaveLength(1)
    })

    it('sink results that fit one by one but not together in flow.completed fail the run, saying so', async () => {
      const { error, state, events } = await outcome(runner(), store(), 'twoSinks')
      expect(isLeanflowError(error, 'RUN_FAILED')).toBe(true)
      expect(state.status).toBe('failed')
      expect(state.error).toMatch(/result of flow "twoSinks" is \d+ bytes, over the store's event limit of 1048576 bytes/)
      expect(events.filter((e) => e.kind === 'step.completed')).toHaveLength(2)
      expect(events.at(-1)?.kind).toBe('flow.failed')
    })

    it('an invoke input, a trigger payload or an event match over the limit throws at the call; nothing is awaited', async () => {
      for (const [flow, what] of [
        ['bigInvoke', 'invoke input'],
        ['bigTrigger', 'await.trigger payload'],
        ['bigMatch', 'await.event match'],
      ] as const) {
        const { state, events } = await outcome(runner(), store(), flow)
        expect(state.status, flow).toBe('failed')
        expect(state.steps.s?.error).toContain(`The ${what}`)
        expect(events.map((e) => e.kind)).toEqual(['flow.started', 'step.started', 'step.failed', 'flow.failed'])
      }
      expect(await store().listRuns('child')).toEqual([])
    })

    it('an event match whose value is undefined throws at the call, naming the path (it matched any event of the kind)', async () => {
      const { runId } = await runner().startFlow('undefinedMatch', { orderId: 'o-1' })
      await runner().publishEvent({ kind: 'paid.undef', data: { orderId: 'o-2', amount: 999 } })
      const err = await runner()
        .result(runId, { timeout: '10s' })
        .catch((e: unknown) => e)
      expect(isLeanflowError(err, 'RUN_FAILED'), String(err)).toBe(true)
      const events = await store().read(runId)
      expect(reduceFlow(events).steps.s?.error).toMatch(/^Invalid await\.event match value of "data\.orderId" undefined: pass/)
      expect(events.map((e) => e.kind)).toEqual(['flow.started', 'step.started', 'step.failed', 'flow.failed'])
    })

    it('an event match whose value JSON would drop or change (a symbol, NaN, a Map, Infinity inside an object, undefined inside an array or an object) throws at the call, naming the path', async () => {
      for (const how of Object.keys(LOST)) {
        const { runId } = await runner().startFlow('lostMatch', { how })
        const err = await runner()
          .result(runId, { timeout: '10s' })
          .catch((e: unknown) => e)
        expect(isLeanflowError(err, 'RUN_FAILED'), String(err)).toBe(true)
        const events = await store().read(runId)
        expect(reduceFlow(events).steps.s?.error, how).toMatch(/^Invalid await\.event match value of "data\.a" .+: pass a JSON value/)
        expect(events.map((e) => e.kind)).toEqual(['flow.started', 'step.started', 'step.failed', 'flow.failed'])
      }
    })

    it('a trigger resolved with a payload over the limit is refused with PAYLOAD_TOO_LARGE; the trigger stays pending', async () => {
      const { runId } = await runner().startFlow('approval', {})
      await expect
        .poll(async () => reduceFlow(await store().read(runId)).steps.s?.awaiting?.triggerId, { timeout: 10_000 })
        .toBeTypeOf('string')
      const before = await store().read(runId)
      const triggerId = reduceFlow(before).steps.s?.awaiting?.triggerId as string
      const err = await runner()
        .resolveTrigger(triggerId, over)
        .catch((e: unknown) => e)
      expect(isLeanflowError(err, 'PAYLOAD_TOO_LARGE')).toBe(true)
      expect((err as Error).message).toMatch(/The trigger payload is \d+ bytes, over the limit of 1048576 bytes/)
      expect(await store().read(runId)).toEqual(before)
      // still pending: a payload that fits resolves it
      expect(await runner().resolveTrigger(triggerId, 'ok')).toEqual({ runId, step: 's' })
      expect(await runner().result(runId, { timeout: '10s' })).toEqual({ s: 2 })
    })

    it('a state value over the limit throws at ctx.state.set, and the run state never takes it', async () => {
      const { result, events } = await outcome(runner(), store(), 'bigState')
      expect(result).toEqual({ s: 'undefined' })
      expect(events.find((e) => e.kind === 'step.failed')?.data).toMatchObject({
        error: expect.stringContaining('The state value of "blob"'),
      })
      expect(events.some((e) => e.kind === 'state.set')).toBe(false)
    })

    it('a cancel reason of megabytes is cut: the run ends canceled in its log too, not only in its state', async () => {
      const { runId } = await runner().startFlow('waiting', {})
      await expect.poll(async () => reduceFlow(await store().read(runId)).status).toBe('awaiting')
      await runner().cancel(runId, 'r'.repeat(2 * MiB))
      const err = await runner()
        .result(runId, { timeout: '5s' })
        .catch((e: unknown) => e)
      expect(isLeanflowError(err, 'RUN_CANCELED')).toBe(true)
      const state = reduceFlow(await store().read(runId))
      expect(state.status).toBe('canceled')
      expect(state.cancelReason).toMatch(/^r+… \(\d+ more characters\)$/)
      expect((await store().listRuns('waiting')).map((r) => r.status)).toEqual(['canceled'])
    })

    it('the refused attempt is an ordinary failed attempt: the retry runs and completes', async () => {
      const { result, events } = await outcome(runner(), store(), 'retried')
      expect(result).toEqual({ s: 'small' })
      expect(events.map((e) => e.kind)).toEqual([
        'flow.started',
        'step.started',
        'step.failed',
        'step.retry',
        'step.started',
        'step.completed',
        'flow.completed',
      ])
    })
  },
)
