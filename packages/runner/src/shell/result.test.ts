import { createMemoryStreamStore } from '@leanflow/core'
import { describe, expect, it } from 'vitest'
import { resultOf } from './result.js'

describe('resultOf', () => {
  it('waits for the observers once it knows the run’s end, at most settleMs: a delivery that hangs does not hold the answer', async () => {
    const store = createMemoryStreamStore()
    await store.append('r1', { kind: 'flow.started', flow: 'r1', data: { name: 'f', input: null, steps: { a: { needs: [] } } } })
    await store.append('r1', { kind: 'flow.completed', flow: 'r1', data: { result: 7 } })
    let told = false
    const slow = { settled: () => new Promise<void>((r) => setTimeout(() => r(void (told = true)), 30)) }
    expect(await resultOf(store, 'r1', {}, () => true, slow)).toBe(7)
    expect(told).toBe(true)
    const hanging = { settled: () => new Promise<void>(() => {}) }
    const t0 = Date.now()
    expect(await resultOf(store, 'r1', {}, () => true, hanging, 50)).toBe(7)
    expect(Date.now() - t0).toBeLessThan(5000)
    await store.close()
  })
})
