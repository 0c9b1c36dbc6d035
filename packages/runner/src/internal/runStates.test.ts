import { createMemoryRunStateStore } from '@leanflow/core'
import { describe, expect, it } from 'vitest'
import type { RunDoc } from './runDoc.js'
import { RunStates } from './runStates.js'

const doc = (status: RunDoc['status']): RunDoc => ({ flow: 'f', status, startedAt: 0, pos: 0, steps: {}, consumed: [], state: {} })

describe('RunStates', () => {
  it('an update works on what it read, even when another update evicts the cache meanwhile', async () => {
    const states = new RunStates(createMemoryRunStateStore())
    await states.create('r', doc('running'))
    // another update finishing the run evicts its cache entry right after this read cached it
    const internals = states as unknown as { remember: (...a: unknown[]) => void; cache: Map<string, unknown> }
    const remember = internals.remember.bind(states)
    internals.remember = (...a: unknown[]) => {
      remember(...a)
      queueMicrotask(() => internals.cache.delete('r'))
    }
    const seen: Array<string | null> = []
    await states.update('r', (d) => seen.push(d ? d.status : null), { fresh: true })
    expect(seen).toEqual(['running'])
  })

  it('a conflict re-runs the update on the current document; a no-change decision is re-checked on a fresh read', async () => {
    const store = createMemoryRunStateStore()
    const a = new RunStates(store)
    const b = new RunStates(store)
    await a.create('r', doc('running'))
    await b.read('r')
    await a.update('r', (d) => {
      if (d) d.state.n = 1
    })
    let calls = 0
    const res = await b.update('r', (d) => {
      calls++
      if (d) d.state.m = 2
    })
    expect(calls).toBe(2)
    expect(res.doc?.state).toEqual({ n: 1, m: 2 })
    await a.update('r', (d) => {
      if (d) d.status = 'canceled'
    })
    const seen = await b.update('r', (d) => d?.status)
    expect(seen.value).toBe('canceled')
  })
})
