// runner.observe refuses an observer it cannot call, at the call: a non-function onEvent or
// startMeta, or an object with neither (a misspelt `onEvnt`, never called). Before, all were
// accepted and every event of every run then sent a TypeError ("o.onEvent is not a function") to
// onError, or nothing at all for the typo. And an option echoed in an error is cut at 64
// characters (a 1 MB workerId or traceparent was echoed whole, a traceparent header back in a 400).
import { createMemoryStreamStore, isLeanflowError } from '@leanflow/core'
import { createRunner, defineFlow } from '@leanflow/runner'
import { expect, it } from 'vitest'

const order = defineFlow({ name: 'order', steps: { charge: { handler: async () => 1 } } })

function refusal(call: () => unknown): string {
  let err: unknown
  try {
    call()
  } catch (e) {
    err = e
  }
  expect(isLeanflowError(err, 'INVALID_ARGUMENT'), String(err)).toBe(true)
  return (err as Error).message
}

it('runner.observe refuses an observer whose onEvent or startMeta is no function, or that has neither; a valid one sees the run', async () => {
  const errors: unknown[] = []
  const runner = createRunner({ store: createMemoryStreamStore(), flows: [order], onError: (e) => errors.push(e) })
  expect(refusal(() => runner.observe({ onEvent: 'x' } as never))).toMatch(/runner\.observe onEvent "x": pass a function/)
  expect(refusal(() => runner.observe({ startMeta: 5 } as never))).toMatch(/runner\.observe startMeta 5: pass a function/)
  expect(refusal(() => runner.observe({ onEvnt: () => {} } as never))).toMatch(/onEvent or startMeta .*"onEvnt": check their spelling/)
  expect(refusal(() => runner.observe(null as never))).toMatch(/runner\.observe observer null/)
  // an observer of a class (its methods on the prototype) is one
  class Kinds {
    seen: string[] = []
    onEvent(e: { kind: string }) {
      this.seen.push(e.kind)
    }
  }
  const kinds = new Kinds()
  runner.observe(kinds)
  await runner.start()
  try {
    const { runId } = await runner.startFlow(order, {})
    await runner.result(runId, { timeout: '10s' })
    expect(kinds.seen).toContain('flow.completed')
    expect(errors).toEqual([])
  } finally {
    await runner.stop()
  }
})

it('a huge workerId or traceparent is shown cut in its error, not whole', async () => {
  const huge = 'x'.repeat(1_000_000)
  const message = refusal(() => createRunner({ store: createMemoryStreamStore(), flows: [order], workerId: huge }))
  expect(message).toMatch(/^Invalid workerId "xxx/)
  expect(message.length).toBeLessThan(300)
  const runner = createRunner({ store: createMemoryStreamStore(), flows: [order] })
  const err = await runner.startFlow(order, {}, { traceparent: huge }).then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(isLeanflowError(err, 'INVALID_ARGUMENT')).toBe(true)
  expect((err as Error).message.length).toBeLessThan(400)
})
