// Every runner method that names a flow takes the flow object as well as its name, as startFlow,
// ctx.invoke and result do: `runner.limits(flow)` and `runner.schedules.set({ flow })`. Before,
// both took a string only, and a flow object was refused as the flow "[object Object]".
import { createMemoryStreamStore, isLeanflowError } from '@leanflow/core'
import { createRunner, defineFlow } from '@leanflow/runner'
import { describe, expect, it } from 'vitest'

const sync = defineFlow({ name: 'sync', concurrency: { limit: 1 }, steps: { a: { handler: async () => 1 } } })

describe('a flow object where a method names a flow', () => {
  it('runner.limits(flow) answers as runner.limits(name)', async () => {
    const runner = createRunner({ store: createMemoryStreamStore(), flows: [sync] })
    await runner.startFlow(sync, {})
    expect(await runner.limits(sync)).toEqual(await runner.limits('sync'))
    expect((await runner.limits(sync)).limits).toHaveLength(1)
  })

  it('runner.schedules.set({ flow }) stores the schedule of that flow by its name', async () => {
    const runner = createRunner({ store: createMemoryStreamStore(), flows: [sync] })
    const info = await runner.schedules.set({ id: 'hourly', flow: sync, every: '1h' })
    expect(info.flow).toBe('sync')
    expect((await runner.schedules.list()).map((s) => [s.id, s.flow])).toEqual([['hourly', 'sync']])
  })

  it('an object that is no flow is still refused, named', async () => {
    const runner = createRunner({ store: createMemoryStreamStore(), flows: [sync] })
    const bad = { name: 'sync' } as never
    const err = await runner.limits(bad).catch((e: unknown) => e)
    expect(isLeanflowError(err, 'FLOW_NOT_FOUND')).toBe(true)
    // schedules.set takes a name or a flow object: anything else is a bad field
    const err2 = await runner.schedules.set({ id: 'x', flow: bad, every: '1h' }).catch((e: unknown) => e)
    expect(isLeanflowError(err2, 'INVALID_ARGUMENT')).toBe(true)
    expect((err2 as Error).message).toMatch(/^Invalid schedules\.set flow of schedule "x" \{"name":"sync"\}/)
  })
})
