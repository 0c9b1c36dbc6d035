// A ctx.do whose fn throws records nothing. A handler that catches the failure and makes another
// ctx call cannot have that call recorded (its position comes after one with no record): a ctx.do
// there is refused before its effect runs (it would run and never be recorded), the attempt fails,
// and its retry runs the failed fn again, the refused one never having run. A fallback written
// inside the fn (try/catch around the effect) is recorded as the call's result and replays.
// On the memory store and a real redis-server.
import { defineFlow } from '@leanflow/runner'
import { expect, it } from 'vitest'
import { describeOnStores } from '../fixtures/runnerOnStores.js'

const counts = { charge: 0, notify: 0, inside: 0, notifyInside: 0 }

const caughtOutside = defineFlow({
  name: 'caughtOutside',
  steps: {
    pay: {
      retry: { attempts: 2, backoff: { type: 'fixed', delayMs: 10 } },
      handler: async (_input, ctx) => {
        try {
          await ctx.do('charge', () => {
            counts.charge++
            throw new Error('card declined')
          })
        } catch {
          await ctx.do('notify', () => ++counts.notify)
        }
        return 'unreachable'
      },
    },
  },
})

const caughtInside = defineFlow({
  name: 'caughtInside',
  steps: {
    pay: {
      handler: async (_input, ctx) => {
        const paid = await ctx.do('charge-or-notify', async () => {
          counts.inside++
          try {
            throw new Error('card declined')
          } catch {
            counts.notifyInside++
            return { paid: false }
          }
        })
        await ctx.await.time(1) // a suspend and a resume: the call replays its recorded fallback
        return paid
      },
    },
  },
})

/** A caught ctx.do failure, then a durable await (time, event or invoke): the await is refused at its call. */
const awaitAfter = defineFlow({
  name: 'awaitAfter',
  steps: {
    s: {
      retry: { attempts: 2, backoff: { type: 'fixed', delayMs: 10 } },
      handler: async (input: { then: 'time' | 'event' | 'invoke' }, ctx) => {
        try {
          await ctx.do('a', async () => {
            throw new Error('nope')
          })
        } catch {}
        if (input.then === 'time') await ctx.await.time(100)
        else if (input.then === 'event') await ctx.await.event({ kind: 'never.sent' })
        else await ctx.invoke('caughtInside', {})
        return 'done'
      },
    },
  },
})

/** An await made before a ctx.do that then fails, settled together, and the handler goes on to suspend. */
const settledTogether = defineFlow({
  name: 'settledTogether',
  steps: {
    s: {
      retry: { attempts: 2, backoff: { type: 'fixed', delayMs: 10 } },
      handler: async (_input, ctx) => {
        await Promise.allSettled([
          ctx.do('a', async () => {
            await new Promise((r) => setTimeout(r, 20))
            throw new Error('late failure')
          }),
          ctx.await.time('1h'),
        ])
        return 'unreachable'
      },
    },
  },
})

describeOnStores({ flows: [caughtOutside, caughtInside, awaitAfter, settledTogether], prefix: 'dofail' }, (runner, store) => {
  it('an await made before a ctx.do that then fails cannot be recorded either: its suspend fails the attempt (it was refused as a lost lease, and the run hung)', async () => {
    const { runId } = await runner().startFlow(settledTogether, {})
    const err = await runner()
      .result(runId, { timeout: '10s' })
      .catch((e: Error) => e.message)
    expect(err).toMatch(/cannot be recorded: the call at position 0 before it failed \(late failure\)/)
    const failed = (await store().read(runId)).filter((e) => e.kind === 'step.failed')
    expect(failed.map((e) => (e.data as { willRetry: boolean }).willRetry)).toEqual([true, false])
  })

  it('a durable await after a caught ctx.do failure fails the attempt at its call (the step stayed running for ever, its suspend refused)', async () => {
    for (const then of ['time', 'event', 'invoke'] as const) {
      const { runId } = await runner().startFlow(awaitAfter, { then })
      const err = await runner()
        .result(runId, { timeout: '10s' })
        .catch((e: Error) => e.message)
      expect(err, then).toMatch(/cannot be recorded: the call at position 0 before it failed \(nope\)/)
      const failed = (await store().read(runId)).filter((e) => e.kind === 'step.failed')
      expect(failed.map((e) => (e.data as { willRetry: boolean }).willRetry)).toEqual([true, false])
    }
  })

  it('a ctx.do after a caught ctx.do failure is refused before its effect; the attempt fails and its retry runs the failed fn again', async () => {
    Object.assign(counts, { charge: 0, notify: 0 })
    const { runId } = await runner().startFlow(caughtOutside, {})
    const err = await runner()
      .result(runId, { timeout: '10s' })
      .catch((e: Error) => e.message)
    expect(err).toMatch(
      /cannot be recorded: the call at position 0 before it failed \(card declined\).*catch it inside the fn of that ctx\.do/,
    )
    expect(counts).toMatchObject({ charge: 2, notify: 0 })
    const failed = (await store().read(runId)).filter((e) => e.kind === 'step.failed')
    expect(failed.map((e) => (e.data as { willRetry: boolean }).willRetry)).toEqual([true, false])
  })

  it("a fallback inside the fn is the call's recorded result: it runs once, and replays after a resume", async () => {
    Object.assign(counts, { inside: 0, notifyInside: 0 })
    const { runId } = await runner().startFlow(caughtInside, {})
    expect(await runner().result(runId, { timeout: '10s' })).toEqual({ pay: { paid: false } })
    expect(counts).toMatchObject({ inside: 1, notifyInside: 1 })
  })
})
