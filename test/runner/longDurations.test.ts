// Durations past what one setTimeout holds (2^31 - 1 ms, 24.8 days) and past what a date holds.
// DESIGN: `timeout` is ms or a duration string ('7d', …); composition: `runner.result(runId, {
// timeout })`. Before: runner.result(id, { timeout: '40d' }) rejected with AWAIT_TIMEOUT at once (Node
// fires an overflowing timer after 1 ms), a step with `timeout: '40d'` failed at once ("ran longer
// than its timeout of 3456000000 ms"), and ctx.await.time(1e20) threw a RangeError inside the
// runner, so the step started again and again and the run never ended. Now long timers are chained,
// and a duration past 100 years is INVALID_ARGUMENT where it is given.
import { isLeanflowError, parseDuration, reduceFlow } from '@leanflow/core'
import { defineFlow } from '@leanflow/runner'
import { expect, it } from 'vitest'
import { describeOnStores } from '../fixtures/runnerOnStores.js'

const quick = defineFlow({
  name: 'quick',
  steps: {
    s: {
      timeout: '40d',
      handler: async () => {
        await new Promise((r) => setTimeout(r, 150))
        return 'done'
      },
    },
  },
})
const farTime = defineFlow({
  name: 'farTime',
  steps: {
    s: {
      retry: { attempts: 1 },
      handler: async (_i, ctx) => {
        await ctx.await.time(1e20)
        return 'never'
      },
    },
  },
})
const farEvent = defineFlow({
  name: 'farEvent',
  steps: { s: { retry: { attempts: 1 }, handler: async (_i, ctx) => ctx.await.event({ kind: 'paid', timeout: 1e20 }) } },
})

describeOnStores({ flows: [quick, farTime, farEvent], prefix: 'longdur' }, (runner, store) => {
  it('runner.result with a 40-day timeout waits for the run; a step with a 40-day timeout completes', async () => {
    const { runId } = await runner().startFlow('quick', {})
    expect(await runner().result(runId, { timeout: '40d' })).toEqual({ s: 'done' })
  })

  it('an await of 1e20 ms fails the step with INVALID_ARGUMENT at the call; the run ends', async () => {
    for (const flow of ['farTime', 'farEvent']) {
      const { runId } = await runner().startFlow(flow, {})
      const err = await runner()
        .result(runId, { timeout: '5s' })
        .catch((e: unknown) => e)
      expect(isLeanflowError(err, 'RUN_FAILED'), `${flow}: ${String(err)}`).toBe(true)
      const state = reduceFlow(await store().read(runId))
      expect(state.steps.s?.error).toMatch(/at most 100 years/)
    }
  })
})

it('parseDuration refuses more than 100 years, naming the value', () => {
  expect(parseDuration('36500d')).toBe(3_153_600_000_000)
  for (const v of [1e20, '36600d', '5300w']) {
    expect(() => parseDuration(v, 'await.time duration')).toThrow(/^Invalid await\.time duration .+: at most 100 years/)
  }
})
