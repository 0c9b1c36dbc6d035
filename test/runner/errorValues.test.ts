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

/** Errors JSON alone cannot hold: a cause with a cycle, two errors each other's cause, a 600 KB message, an AggregateError, one a toJSON returns. */
const awkward = defineFlow({
  name: 'awkward',
  steps: {
    s: {
      retry: { attempts: 1 },
      handler: async (_input, ctx) => {
        const req: Record<string, unknown> = { url: '/charge' }
        req.self = req
        ctx.logger.error('cyclic cause', { err: new Error('card declined', { cause: req }) })
        const a = new Error('a')
        const b = new Error('b', { cause: a })
        Object.assign(a, { cause: b })
        ctx.logger.error('mutual causes', { err: a })
        ctx.logger.error('huge', { err: new Error('row failed;'.repeat(60_000)) })
        ctx.logger.error('aggregate', { err: new AggregateError([new Error('one'), new Error('two')], 'fetch failed') })
        // an HTTP client's error: its request holds listeners (functions) and cycles
        const request: Record<string, unknown> = { method: 'POST', onResponse: () => 1 }
        request.socket = { request }
        ctx.logger.error('http client', { err: Object.assign(new Error('Request failed with status code 502'), { status: 502, request }) })
        const getter = new Error('getter')
        Object.defineProperty(getter, 'details', {
          enumerable: true,
          get() {
            throw new Error('no details')
          },
        })
        ctx.logger.error('throwing getter', { err: getter })
        // a wrapper whose toJSON hands JSON the Error it holds
        ctx.logger.error('toJSON', { result: { toJSON: () => new Error('wrapped failure') } })
        // a function a toJSON returns is refused, as one in the value itself, not dropped
        const refused = await Promise.resolve()
          .then(() => ctx.logger.error('fn', { w: { toJSON: () => ({ deep: { f: () => 1 } }) } }))
          .then(
            () => 'stored',
            (e: Error) => e.message,
          )
        ctx.logger.info('refused', { refused })
        return 'done'
      },
    },
  },
})

describeOnStores({ flows: [charge, awkward], prefix: 'errvals' }, (runner, store) => {
  it('an Error JSON alone cannot hold is stored all the same: a cyclic cause as its text, a repeated error once, a huge message cut, an AggregateError with its errors', async () => {
    const { runId } = await runner().startFlow('awkward', {})
    expect(await runner().result(runId)).toEqual({ s: 'done' })
    const logs = reduceFlow(await store().read(runId)).logs
    const field = (msg: string) => (logs.find((l) => l.msg === msg)?.fields as { err: Record<string, unknown> } | undefined)?.err
    expect(field('cyclic cause')).toMatchObject({ message: 'card declined', cause: '[object Object]' })
    expect(field('mutual causes')).toMatchObject({ message: 'a', cause: { message: 'b', cause: { name: 'Error', message: 'a' } } })
    const huge = field('huge')
    expect(String(huge?.message)).toMatch(/^row failed;[\s\S]*… \(\d+ more characters\)$/)
    expect(String(huge?.message).length).toBeLessThan(17_000)
    expect(String(huge?.stack).length).toBeLessThan(17_000)
    expect(field('aggregate')).toMatchObject({
      name: 'AggregateError',
      message: 'fetch failed',
      errors: [{ message: 'one' }, { message: 'two' }],
    })
    expect(field('http client')).toMatchObject({ message: 'Request failed with status code 502', status: 502, request: '[object Object]' })
    expect(field('throwing getter')).toEqual({ name: 'Error', message: 'getter' })
    const wrapped = logs.find((l) => l.msg === 'toJSON')?.fields as { result: unknown } | undefined
    expect(wrapped?.result).toMatchObject({ name: 'Error', message: 'wrapped failure' })
    const refused = logs.find((l) => l.msg === 'refused')?.fields as { refused: string } | undefined
    expect(refused?.refused).toMatch(/log fields contains a function/)
  })

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
