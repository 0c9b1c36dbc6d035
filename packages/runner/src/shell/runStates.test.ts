import { createMemoryRunStateStore } from '@leanflow/core'
import { describe, expect, it } from 'vitest'
import type { RunDoc } from '../machine/runDoc.js'
import { fencesOf, RunStates } from './runStates.js'

const doc = (status: RunDoc['status']): RunDoc => ({ flow: 'f', status, startedAt: 0, pos: 0, steps: {}, consumed: [], state: {} })

describe('fencesOf', () => {
  it("a running run's: the run's and each running step's lease; an ended run's: only the end fence of the write that ended it", () => {
    const live: RunDoc = { ...doc('running'), steps: { a: { status: 'running', attempt: 1, records: [], lease: 'L' } } }
    expect(fencesOf(live)).toEqual({ ':run': 'running', a: 'L' })
    // the step keeps no lease once the run ended; the lease of the execution that ended it is the end fence
    expect(fencesOf({ ...doc('completed'), endedBy: 'L' })).toEqual({ ':end': 'L' })
    expect(fencesOf({ ...doc('failed'), endedBy: 'L' })).toEqual({ ':end': 'L' })
    // ended by no execution (a cancel): no fence at all
    expect(fencesOf(doc('canceled'))).toEqual({})
    expect(fencesOf({ ...doc('queued'), endedBy: 'L' })).toEqual({})
  })
})

describe('RunStates', () => {
  it('an update works on what it read, even when another update evicts the cache meanwhile', async () => {
    const store = createMemoryRunStateStore()
    const states = new RunStates(store)
    await store.casRunState('r', 0, doc('running'))
    // another update finishing the run evicts its cache entry right after this read cached it
    const internals = states as unknown as { remember: (...a: unknown[]) => unknown; cache: Map<string, unknown> }
    const remember = internals.remember.bind(states)
    internals.remember = (...a: unknown[]) => {
      const cur = remember(...a)
      queueMicrotask(() => internals.cache.delete('r'))
      return cur
    }
    const seen: Array<string | null> = []
    await states.update('r', (d) => seen.push(d ? d.status : null), { fresh: true })
    expect(seen).toEqual(['running'])
  })

  it('a conflict re-runs the update on the current document; a no-change decision is re-checked on a fresh read', async () => {
    const store = createMemoryRunStateStore()
    const a = new RunStates(store)
    const b = new RunStates(store)
    await store.casRunState('r', 0, doc('running'))
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

  it('a compare-and-set applied before its reply was lost (and resent) counts as done', async () => {
    const inner = createMemoryRunStateStore()
    let resend = true
    const store = {
      ...inner,
      casRunState: async <T>(runId: string, v: number, d: T, o?: { finished?: boolean }) => {
        if (resend && v > 0) {
          resend = false
          await inner.casRunState(runId, v, d, o) // applied; the reply is lost and the command resent
        }
        return inner.casRunState(runId, v, d, o)
      },
    }
    const states = new RunStates(store)
    await inner.casRunState('r', 0, doc('running'))
    let calls = 0
    const res = await states.update('r', (d) => {
      calls++
      if (d?.status === 'running') d.status = 'completed'
      return d?.status === 'completed'
    })
    expect(res).toMatchObject({ changed: true, value: true })
    expect(calls).toBe(1)
    expect((await inner.getRunState<RunDoc>('r'))?.version).toBe(2)
  })

  it('an equal document written by another writer is not taken for this write (same payload, two resolves)', async () => {
    const store = createMemoryRunStateStore()
    const a = new RunStates(store)
    const b = new RunStates(store)
    await store.casRunState('r', 0, doc('running'))
    await Promise.all([a.read('r'), b.read('r')])
    const decide = (d: RunDoc | null) => {
      if (d?.state.resolved !== undefined) return 'conflict'
      if (d) d.state.resolved = { ok: true }
      return 'won'
    }
    const [ra, rb] = await Promise.all([a.update('r', decide), b.update('r', decide)])
    expect([ra.value, rb.value].sort()).toEqual(['conflict', 'won'])
    expect((await store.getRunState<RunDoc>('r'))?.version).toBe(2)
  })

  it('hands the store the JSON of what it writes (token included), serialized once', async () => {
    const inner = createMemoryRunStateStore()
    const sent: Array<{ doc: unknown; json: string | undefined }> = []
    const store = {
      ...inner,
      casRunState: async <T>(runId: string, v: number, d: T, o?: { json?: string }) => {
        sent.push({ doc: d, json: o?.json })
        return inner.casRunState(runId, v, d, o)
      },
    }
    const states = new RunStates(store)
    await inner.casRunState('r', 0, doc('running'))
    await states.update('r', (d) => {
      if (d) d.state.n = 'a "quoted" \u2028 value'
    })
    expect(sent).toHaveLength(1)
    expect(sent[0]?.json).toBe(JSON.stringify(sent[0]?.doc))
    expect((await inner.getRunState<RunDoc>('r'))?.doc).toEqual(sent[0]?.doc)
  })

  it('a run another process wrote is contended for a while: its writers read it first', async () => {
    const store = createMemoryRunStateStore()
    const states = new RunStates(store)
    await store.casRunState('r', 0, doc('running'))
    await states.update('r', (d) => {
      if (d) d.state.n = 1
    })
    expect(states.contended('r')).toBe(false)
    // another process (its own write token) writes the run: this one's compare-and-set conflicts
    await store.casRunState('r', 2, { ...doc('running'), w: 'someone.1' })
    await states.update('r', (d) => {
      if (d) d.state.m = 2
    })
    expect(states.contended('r')).toBe(true)
    expect(states.contended('q')).toBe(false)
  })

  it('an update whose caller keeps nothing lends its document to the next update (no parse); others get their own copy', async () => {
    const store = createMemoryRunStateStore()
    const states = new RunStates(store)
    await store.casRunState('r', 0, doc('running'))
    const first = await states.update(
      'r',
      (d) => {
        if (d) d.state.n = 1
      },
      { own: true },
    )
    let lent: RunDoc | null = null
    await states.update('r', (d) => {
      lent = d
      if (d) d.state.m = 2
    })
    expect(lent).toBe(first.doc)
    let copy: RunDoc | null = null
    await states.update('r', (d) => {
      copy = d
      if (d) d.state.k = 3
    })
    expect(copy).not.toBe(first.doc)
    expect((await store.getRunState<RunDoc>('r'))?.doc.state).toEqual({ n: 1, m: 2, k: 3 })
  })
})
