// ctx.invoke of a flow with an input schema: the input is checked (and transformed) once, at the
// invoke, and the child starts with that output. It was checked again at the child's start: an
// optional input left out (stored as null) and a transform's output then failed the schema, the
// child was never created, and the parent's step stayed running for ever, its job failing again
// and again with "does not match its schema".
import { createMemoryStreamStore } from '@leanflow/core'
import { createRunner, defineFlow } from '@leanflow/runner'
import { expect, it } from 'vitest'
import { z } from 'zod'

const optional = defineFlow({
  name: 'optional',
  input: z.object({ x: z.string() }).optional(),
  steps: { a: { handler: async (input) => (input ? input.x : 'none') } },
})
const transformed = defineFlow({
  name: 'transformed',
  input: z.object({ word: z.string() }).transform((v) => ({ length: v.word.length })),
  steps: { a: { handler: async (input) => input.length } },
})
const parent = defineFlow({
  name: 'parent',
  steps: {
    call: {
      retry: { attempts: 1 },
      handler: async (_input, ctx) => ({
        none: await ctx.invoke(optional),
        some: await ctx.invoke(optional, { x: 'y' }),
        length: await ctx.invoke(transformed, { word: 'four' }),
      }),
    },
  },
})

it('a child with an optional input left out, and one whose schema transforms its input, start once with the checked input', async () => {
  const store = createMemoryStreamStore()
  const errors: unknown[] = []
  const runner = createRunner({ store, flows: [optional, transformed, parent], onError: (e) => errors.push(e) })
  await runner.start()
  try {
    const { runId } = await runner.startFlow(parent, {})
    expect(await runner.result(runId, { timeout: '10s' })).toEqual({ call: { none: { a: 'none' }, some: { a: 'y' }, length: { a: 4 } } })
    expect(errors).toEqual([])
  } finally {
    await runner.stop()
    await store.close()
  }
})
