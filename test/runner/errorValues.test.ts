// An Error a step logs, keeps in its state or emits is stored by its fields (name, message,
// stack, cause, its own fields such as `code`), not as the `{}` JSON makes of it: the common
// `catch (err) { ctx.logger.error('charge failed', { err }) }` lost the message and the stack.
import { reduceFlow } from '@leanflow/core'
import { defineFlow } from '@leanflow/runner'
import { expect, it } from 'vitest'
import { describeOnStores } from '../fixtures/runnerOnStores.js'

class DeclinedError extends Error {
  code = 'card_declined'
}

const charge = defineFlow({
  name: 'charge',
  steps: {
    s: {
      handler: async (_input, ctx) => {
        try {
          throw new DeclinedError('card declined', { cause: new Error('issuer said no') })
        } catch (err) {
          ctx.logger.error('charge failed', { err, orderId: 'o-1' })
          await ctx.state.set('lastError', err)
          const kept = await ctx.do('keep', async () => ({ err }))
          return (kept.err as unknown as { message: string }).message
        }
      },
    },
  },
})

describeOnStores({ flows: [charge], prefix: 'errvals' }, (runner, store) => {
  it('an Error in log fields, state or a ctx.do result keeps its name, message, stack, cause and own fields', async () => {
    const { runId } = await runner().startFlow('charge', {})
    expect(await runner().result(runId)).toEqual({ s: 'card declined' })
    const state = reduceFlow(await store().read(runId))
    const log = state.logs.find((l) => l.msg === 'charge failed')
    const stored = {
      name: 'Error',
      message: 'card declined',
      code: 'card_declined',
      stack: expect.stringContaining('card declined'),
      cause: { name: 'Error', message: 'issuer said no', stack: expect.stringContaining('issuer said no') },
    }
    expect(log?.fields).toEqual({ err: stored, orderId: 'o-1' })
    expect(state.state.lastError).toEqual(stored)
  })
})
