// A ctx.do whose fn throws, caught by the handler, which goes on: the failure is recorded with the
// step's next call, so every replay (a resume after a suspend, a retry of the step after a later
// failure) throws the same failure again (name, message, code) without running fn, and the
// handler takes the same path: the fallback's own effect runs once. A failure the handler does
// not catch records nothing: the step's retry runs fn again. On the memory store and a real
// redis-server. (Before, a ctx call after a caught ctx.do failure could not be recorded at all:
// the step failed with "the call at position 0 before it failed".)
import { defineFlow } from '@leanflow/runner'
import { expect, it } from 'vitest'
import { describeOnStores } from '../fixtures/runnerOnStores.js'

class PaymentError extends Error {
  override name = 'PaymentError'
  code = 'E_DECLINED'
}

const counts = { charge: 0, notify: 0, later: 0, flaky: 0 }

const fallback = defineFlow({
  name: 'fallback',
  steps: {
    pay: {
      retry: { attempts: 2, backoff: { type: 'fixed', delayMs: 10 } },
      handler: async (_input, ctx) => {
        let path = 'charged'
        try {
          await ctx.do('charge', () => {
            counts.charge++
            throw new PaymentError('card declined')
          })
        } catch (err) {
          const e = err as PaymentError
          path = `fallback:${e.name}:${e.message}:${e.code}`
          await ctx.do('notify', () => ++counts.notify)
        }
        await ctx.await.time(1) // suspends: the resume replays the handler from the top
        // the first attempt fails here once: its retry replays the recorded failure, not the charge
        if (++counts.later === 1) throw new Error('a later failure')
        return path
      },
    },
  },
})

const flaky = defineFlow({
  name: 'flaky',
  steps: {
    call: {
      retry: { attempts: 3, backoff: { type: 'fixed', delayMs: 10 } },
      handler: async (_input, ctx) =>
        ctx.do('call', () => {
          if (++counts.flaky < 2) throw new Error('timeout')
          return counts.flaky
        }),
    },
  },
})

describeOnStores({ flows: [fallback, flaky], prefix: 'dofail' }, (runner, store) => {
  it('a caught ctx.do failure replays as the same failure, across a resume and a retry: fn and the fallback run once', async () => {
    Object.assign(counts, { charge: 0, notify: 0, later: 0 })
    const { runId } = await runner().startFlow(fallback, {})
    expect(await runner().result(runId, { timeout: '10s' })).toEqual({ pay: 'fallback:PaymentError:card declined:E_DECLINED' })
    expect(counts).toMatchObject({ charge: 1, notify: 1 })
    const kinds = (await store().read(runId)).map((e) => e.kind)
    // the later failure was retried: the step failed once, then completed
    expect(kinds.filter((k) => k === 'step.failed')).toHaveLength(1)
    expect(kinds.at(-1)).toBe('flow.completed')
  })

  it('a ctx.do failure the handler does not catch records nothing: the retry runs fn again', async () => {
    counts.flaky = 0
    const { runId } = await runner().startFlow(flaky, {})
    expect(await runner().result(runId, { timeout: '10s' })).toEqual({ call: 2 })
    expect(counts.flaky).toBe(2)
  })
})
