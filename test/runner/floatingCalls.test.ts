// ctx calls a handler does not await. Those made before it returns or throws end before the step
// does (the step's end would fence out what is left of them: on Redis a floating state.set was in
// the run's state and not in its log). None of them ends the worker's process when it fails (an
// unhandled rejection did). One made after the step went on names that, not a lost lease.
import { reduceFlow } from '@leanflow/core'
import { defineFlow, type StepContext } from '@leanflow/runner'
import { expect, it } from 'vitest'
import { logOf } from '../fixtures/runnerKit.js'
import { describeOnStores } from '../fixtures/runnerOnStores.js'
import { waitFor } from '../helpers/waitFor.js'

const tries = new Map<string, number>()
const late = new Map<string, unknown>()
const lateAwait = new Map<string, unknown>()

const floats = defineFlow<{ n: number }>({
  name: 'floats',
  steps: {
    a: {
      handler: async (input, ctx) => {
        void ctx.state.set('k', input.n)
        void ctx.emit('my.kind', { n: input.n })
        return 'a'
      },
    },
    b: { needs: ['a'], handler: async (_i, ctx) => ctx.state.get('k') },
  },
})
// a run still running when a's late call comes (its step b waits 1 s: a loaded machine fires the 50 ms timer late)
const throws = defineFlow<{ key: string }>({
  name: 'throws',
  steps: {
    a: {
      retry: { attempts: 2, backoff: { type: 'fixed', delayMs: 5 } },
      handler: async (input, ctx: StepContext) => {
        const n = (tries.get(input.key) ?? 0) + 1
        tries.set(input.key, n)
        void ctx.state.set('try', n)
        if (n === 1) throw new Error('flaky')
        // a call after the step went on: rejected, saying so
        setTimeout(() => ctx.state.set('late', 1).catch((err: unknown) => late.set(input.key, err)), 50)
        // an await after the end (before any other call found it gone): rejected too, not pending for good
        setTimeout(() => ctx.await.time(10).catch((err: unknown) => lateAwait.set(input.key, err)), 30)
        return n
      },
    },
    b: {
      needs: ['a'],
      handler: async (_i, ctx) => {
        await ctx.await.time(1000)
        return 'b'
      },
    },
  },
})

// calls made just after the handler returned, while the step's end is still being written (its lease still holds)
const soon = new Map<string, unknown[]>()
const justAfter = defineFlow<{ key: string }>({
  name: 'justAfter',
  steps: {
    a: {
      handler: async (input, ctx) => {
        const settle = (p: Promise<unknown>) =>
          p.then(
            () => 'stored',
            (err: unknown) => err,
          )
        setImmediate(() => {
          void Promise.all([settle(ctx.state.set('soon', 1)), settle(ctx.emit('soon.kind')), settle(ctx.do('soon', () => 1))]).then((r) =>
            soon.set(input.key, r),
          )
        })
        return 'a'
      },
    },
  },
})

// a floating ctx.do that never ends: the step waits for it, as for an awaited one, until its timeout
const hangs = defineFlow({
  name: 'hangs',
  steps: {
    a: {
      timeout: '200ms',
      retry: { attempts: 1 },
      handler: async (_i, ctx) => {
        void ctx.do('forever', () => new Promise(() => {}))
        return 'a'
      },
    },
  },
})

describeOnStores({ flows: [floats, throws, hangs, justAfter], prefix: 'float' }, (runner, store) => {
  it('one that never ends holds the step until its timeout, which ends it as for an awaited one', async () => {
    const { runId } = await runner().startFlow('hangs', {})
    await expect(runner().result(runId, { timeout: '10s' })).rejects.toMatchObject({ code: 'RUN_FAILED' })
    const failed = (await logOf(store(), runId)).find((e) => e.kind === 'step.failed')
    expect((failed?.data as { error?: string } | undefined)?.error).toMatch(/ran longer than its timeout of 200 ms/)
  })

  it('a state.set and an emit not awaited before the handler returns: in the log before step.completed, and in the state', async () => {
    for (const n of [1, 2, 3]) {
      const { runId } = await runner().startFlow('floats', { n })
      expect(await runner().result(runId, { timeout: '10s' })).toEqual({ b: n })
      const log = await logOf(store(), runId)
      // each in the log (the emit queued at once, the state.set once the run's state took it), before the step's end
      const kinds = log.filter((e) => e.step === 'a').map((e) => e.kind)
      expect([...kinds].sort()).toEqual(['my.kind', 'state.set', 'step.completed', 'step.started'])
      expect(kinds.at(-1)).toBe('step.completed')
      expect(reduceFlow(log).state).toEqual({ k: n })
    }
  })

  it('made right after the handler returned, while its end is written: each refused as settled, nothing of them stored', async () => {
    for (let i = 0; i < 3; i++) {
      const key = `s-${Math.random()}`
      const { runId } = await runner().startFlow('justAfter', { key })
      expect(await runner().result(runId, { timeout: '10s' })).toEqual({ a: 'a' })
      await waitFor(() => soon.has(key), 'the calls after the return settled')
      for (const r of soon.get(key) as unknown[]) expect(r).toMatchObject({ code: 'NON_RETRIABLE', why: 'settled' })
      const log = await logOf(store(), runId)
      expect(log.map((e) => e.kind)).toEqual(['flow.started', 'step.started', 'step.completed', 'flow.completed'])
      expect(reduceFlow(log).state).toEqual({})
    }
  })

  it('one not awaited before the handler throws: stored before step.failed, the process lives on, the retry completes; one after the end says why it was refused', async () => {
    const key = `t-${Math.random()}`
    const { runId } = await runner().startFlow('throws', { key })
    expect(await runner().result(runId, { timeout: '10s' })).toEqual({ b: 'b' })
    const kinds = (await logOf(store(), runId)).filter((e) => e.step === 'a').map((e) => e.kind)
    expect(kinds.slice(0, 3)).toEqual(['step.started', 'state.set', 'step.failed'])
    await waitFor(() => late.has(key), 'the late call settled')
    expect(late.get(key)).toMatchObject({ code: 'NON_RETRIABLE', why: 'settled' })
    expect((late.get(key) as Error).message).toMatch(/handler had already returned or thrown.*await every ctx call/)
    await waitFor(() => lateAwait.has(key), 'the late await settled')
    expect(lateAwait.get(key)).toMatchObject({ code: 'NON_RETRIABLE', why: 'settled' })
  })
})
