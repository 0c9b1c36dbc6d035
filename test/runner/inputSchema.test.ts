import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createMemoryStreamStore, type EventRecord } from '@leanflow/core'
import { createHandler } from '@leanflow/http'
import { toNodeHandler } from '@leanflow/http/node'
import { createRunner, defineFlow, type FlowDefinition } from '@leanflow/runner'
import * as v from 'valibot'
import { describe, expect, expectTypeOf, it } from 'vitest'
import { z } from 'zod'
import { waitEnd } from '../fixtures/runnerKit.js'

describe('defineFlow({ input }): a Standard Schema checks every input', () => {
  const order = defineFlow({
    name: 'order',
    input: z.object({ orderId: z.string().min(1), qty: z.number().int().positive().default(1) }),
    steps: {
      charge: {
        handler: async (input) => {
          expectTypeOf(input).toEqualTypeOf<{ orderId: string; qty: number }>()
          return { charged: input.orderId, qty: input.qty }
        },
      },
    },
  })

  it('refuses a bad input with INVALID_ARGUMENT naming each issue and its path; nothing is written', async () => {
    const store = createMemoryStreamStore()
    const runner = createRunner({ store, flows: [order] })
    const err = await runner.startFlow('order', { orderId: 42, qty: -1 }, { runId: 'bad-1' }).catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'INVALID_ARGUMENT' })
    const issues = (err as { issues: Array<{ path: string; message: string }> }).issues
    expect(issues.map((i) => i.path).sort()).toEqual(['orderId', 'qty'])
    expect((err as Error).message).toMatch(/Input of flow "order" does not match its schema: .*orderId/)
    expect(await store.read('bad-1')).toEqual([])
    expect(await store.getRunState('bad-1')).toBeNull()
    expect(await store.listFlows()).toEqual([])
    await store.close()
  })

  it('stores the schema output (defaults applied) as the run input, and runs it', async () => {
    const store = createMemoryStreamStore()
    const runner = createRunner({ store, flows: [order] })
    await runner.start()
    const { runId } = await runner.startFlow('order', { orderId: 'o-1' })
    const end = await waitEnd(store, runId)
    expect(end.data).toMatchObject({ result: { charge: { charged: 'o-1', qty: 1 } } })
    const [started] = (await store.read(runId, { limit: 1 })) as EventRecord<{ input: unknown }>[]
    expect(started?.data.input).toEqual({ orderId: 'o-1', qty: 1 })
    await runner.stop()
    await store.close()
  })

  it('takes a valibot schema and an async (Promise-returning) validation', async () => {
    const store = createMemoryStreamStore()
    const viaValibot = defineFlow({ name: 'vb', input: v.object({ id: v.string() }), steps: { a: { handler: async (i) => i.id } } })
    const asyncZod = defineFlow({
      name: 'az',
      input: z.object({ id: z.string() }).refine(async (x) => x.id !== 'taken', { message: 'id is taken', path: ['id'] }),
      steps: { a: { handler: async (i) => i.id } },
    })
    const runner = createRunner({ store, flows: [viaValibot, asyncZod] })
    await expect(runner.startFlow('vb', { id: 1 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', issues: [{ path: 'id' }] })
    await expect(runner.startFlow('az', { id: 'taken' })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      issues: [{ path: 'id', message: 'id is taken' }],
    })
    expect((await runner.startFlow('vb', { id: 'x' })).runId).toMatch(/^[A-Za-z0-9]{21}$/)
    expect((await runner.startFlow('az', { id: 'free' })).runId).toMatch(/^[A-Za-z0-9]{21}$/)
    expect((await store.listFlows()).map((f) => f.flow)).toEqual(['az', 'vb'])
    await runner.stop()
    await store.close()
  })

  it('POST /:flow/runs over real HTTP: 400 INVALID_ARGUMENT with the issues, nothing written; a good input is 201', async () => {
    const store = createMemoryStreamStore()
    const runner = createRunner({ store, flows: [order] })
    const server = createServer(toNodeHandler(createHandler({ store, runner })))
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/flows`
    try {
      const post = (body: unknown) =>
        fetch(`${base}/order/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
      const bad = await post({ orderId: '' })
      expect(bad.status).toBe(400)
      const { error } = (await bad.json()) as { error: { code: string; message: string; issues: Array<{ path: string }> } }
      expect(error.code).toBe('INVALID_ARGUMENT')
      expect(error.issues.map((i) => i.path)).toEqual(['orderId'])
      expect(await store.listFlows()).toEqual([])
      const good = await post({ orderId: 'o-9' })
      expect(good.status).toBe(201)
      expect(await store.listFlows()).toEqual([{ flow: 'order', runs: 1 }])
    } finally {
      await new Promise((r) => server.close(r))
      await runner.stop()
      await store.close()
    }
  })

  it('defineFlow refuses an input that is not a Standard Schema', () => {
    const bad = () => defineFlow({ name: 'f', input: { parse: () => 1 } as never, steps: { a: { handler: async () => 1 } } })
    expect(bad).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/Standard Schema/) }))
    const typed: FlowDefinition<{ orderId: string; qty: number }> = order
    expect(typed.input).toBeDefined()
  })
})
