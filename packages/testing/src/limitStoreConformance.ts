import type { LimitStore } from '@leanflow/core'
import { describe, expect } from 'vitest'
import { admit, conc, holders, queue, rate, releaseChain, SCOPE, SKEW, sleep, usage } from './internal/limitKit.js'
import { storeTest } from './internal/storeTest.js'
import { limitModeCases } from './limitStoreConformanceModes.js'

/** A store under test: the LimitStore port, closed after each test when it can be. */
export type LimitTestStore = LimitStore & { close?(): Promise<void> }

/** What the suite asks of an implementation. */
export interface LimitStoreFactory {
  /** A fresh, empty store (its own key prefix on a shared server). Its clock is the wall clock. */
  store(): Promise<LimitTestStore>
  /**
   * Titles of cases this store is known to fail: they run as `it.fails`, so the day the store
   * is fixed the case turns red and its entry here can go.
   */
  knownGaps?: readonly string[]
}

/**
 * The LimitStore contract (core's `limitStore.ts`), run against every implementation: admission,
 * the queue (priority, FIFO, round-robin across keys), several needs at once, rate windows,
 * leases, singletons, debounce, refusals before anything is written, and a race.
 *
 * @example
 * ```ts
 * describeLimitStoreConformance('memory', { store: async () => createMemoryStreamStore() })
 * ```
 */
export function describeLimitStoreConformance(label: string, factory: LimitStoreFactory): void {
  const test = storeTest<LimitStore>(factory)

  describe(`LimitStore conformance: ${label}`, () => {
    test('admits up to the limit, then queues; a release admits the next', async (s) => {
      const need = conc('concurrency.0', 't1', 2)
      expect(await s.acquireLimit(SCOPE, { holder: 'a', needs: [need] })).toEqual({ state: 'admitted', admitted: ['a'] })
      expect(await s.acquireLimit(SCOPE, { holder: 'b', needs: [need] })).toEqual({ state: 'admitted', admitted: ['b'] })
      // unleased holders: no time at which the limit frees itself
      expect(await s.acquireLimit(SCOPE, { holder: 'c', needs: [need] })).toEqual({
        state: 'queued',
        admitted: [],
        blocked: { id: 'concurrency.0', key: 't1' },
      })
      expect(await usage(s)).toEqual([{ id: 'concurrency.0', kind: 'concurrency', key: 't1', active: 2, queued: 1 }])
      expect(await s.releaseLimit(SCOPE, 'a')).toEqual({ admitted: ['c'] })
      expect(await s.releaseLimit(SCOPE, 'a')).toEqual({ admitted: [] })
      expect(await usage(s)).toEqual([{ id: 'concurrency.0', kind: 'concurrency', key: 't1', active: 2, queued: 0 }])
      // other keys and other scopes are other limits
      await admit(s, { holder: 'd', needs: [conc('concurrency.0', 't2', 2)] })
      await admit(s, { holder: 'e~step', needs: [need] }, 'sync/step')
      expect(await holders(s)).toEqual(['b', 'c', 'd'])
      expect(await holders(s, 'sync/step')).toEqual(['e~step'])
    })

    test("a key's limit is its latest ask's: a raised limit admits the holders in line, a lowered one holds them back (a deploy that changes a limit reaches the backlog)", async (s) => {
      const one = conc('concurrency.0', 'k', 1)
      await admit(s, { holder: 'a', needs: [one] })
      for (const h of ['b', 'c', 'd']) await queue(s, { holder: h, needs: [one] })
      // a newcomer asks with limit 3: the two at the head of the line go first, it waits behind d
      expect(await s.acquireLimit(SCOPE, { holder: 'e', needs: [conc('concurrency.0', 'k', 3)] })).toEqual({
        state: 'queued',
        admitted: ['b', 'c'],
        blocked: { id: 'concurrency.0', key: 'k' },
      })
      // lowered to 1 by the next ask (d asking again under the new definition): releases admit no one
      // until only one holds the key
      expect(await s.acquireLimit(SCOPE, { holder: 'd', needs: [one] })).toEqual({
        state: 'queued',
        admitted: [],
        blocked: { id: 'concurrency.0', key: 'k' },
      })
      expect(await s.releaseLimit(SCOPE, 'a')).toEqual({ admitted: [] })
      expect(await s.releaseLimit(SCOPE, 'b')).toEqual({ admitted: [] })
      expect(await s.releaseLimit(SCOPE, 'c')).toEqual({ admitted: ['d'] })
      expect(await holders(s)).toEqual(['d'])
    })

    test('the queue of a key: higher priority first, then first come first served', async (s) => {
      const need = conc('concurrency.0', '', 1)
      await admit(s, { holder: 'h', needs: [need] })
      for (const [holder, priority] of [
        ['p0a', 0],
        ['p0b', undefined],
        ['p5a', 5],
        ['pm5', -5],
        ['p5b', 5],
        ['p100', 100],
        ['pm100', -100],
      ] as const) {
        await queue(s, priority === undefined ? { holder, needs: [need] } : { holder, needs: [need], priority })
      }
      expect(await releaseChain(s, 'h', 7)).toEqual(['p100', 'p5a', 'p5b', 'p0a', 'p0b', 'pm5', 'pm100'])
    })

    test('round-robin across keys: admission takes turns, and a blocked key does not hold up the others', async (s) => {
      const global = conc('global', '', 1)
      await admit(s, { holder: 'x', needs: [global] })
      // each holder's round-robin key is its first need's: its tenant
      for (const t of ['A', 'B', 'C']) {
        for (let i = 1; i <= 3; i++) await queue(s, { holder: `${t}${i}`, needs: [conc('tenant', t, 10), global] })
      }
      expect(await releaseChain(s, 'x', 9)).toEqual(['A1', 'B1', 'C1', 'A2', 'B2', 'C2', 'A3', 'B3', 'C3'])

      // tenant D may run one at a time: its second run waits, and E (another key) is not held up behind it
      const g2 = conc('global2', '', 3)
      await admit(s, { holder: 'D1', needs: [conc('tenant', 'D', 1), g2] })
      expect(await s.acquireLimit(SCOPE, { holder: 'D2', needs: [conc('tenant', 'D', 1), g2] })).toEqual({
        state: 'queued',
        admitted: [],
        blocked: { id: 'tenant', key: 'D' },
      })
      await admit(s, { holder: 'E1', needs: [conc('tenant', 'E', 1), g2] })
      expect(await s.releaseLimit(SCOPE, 'D1')).toEqual({ admitted: ['D2'] })
    })

    test('several needs: admitted when all admit; one blocking takes nothing from the others', async (s) => {
      const a = conc('a', '', 2)
      const b = conc('b', '', 1)
      await admit(s, { holder: 'h0', needs: [b] })
      expect(await s.acquireLimit(SCOPE, { holder: 'h1', needs: [a, b] })).toEqual({
        state: 'queued',
        admitted: [],
        blocked: { id: 'b', key: '' },
      })
      // h1 took nothing of `a`: it is waiting in a's line
      expect(await usage(s)).toEqual([
        { id: 'a', kind: 'concurrency', key: '', active: 0, queued: 1 },
        { id: 'b', kind: 'concurrency', key: '', active: 1, queued: 0 },
      ])
      // a's line waits on h1: h2 comes after it, though `a` alone has room
      await queue(s, { holder: 'h2', needs: [a] })
      expect(await s.releaseLimit(SCOPE, 'h0')).toEqual({ admitted: ['h1', 'h2'] })
      expect(await usage(s)).toEqual([
        { id: 'a', kind: 'concurrency', key: '', active: 2, queued: 0 },
        { id: 'b', kind: 'concurrency', key: '', active: 1, queued: 0 },
      ])
      // a rate need refusing keeps the concurrency slot free too
      const r = rate('rate', '', 1, 60_000)
      await admit(s, { holder: 'h3', needs: [conc('c', '', 5), r] })
      expect(await s.acquireLimit(SCOPE, { holder: 'h4', needs: [conc('c', '', 5), r], onBusy: 'refuse' })).toMatchObject({
        state: 'refused',
        blocked: { id: 'rate', key: '' },
      })
      expect((await usage(s)).find((u) => u.id === 'c')).toEqual({ id: 'c', kind: 'concurrency', key: '', active: 1, queued: 0 })
    })

    test('rate window: at most `limit` admissions per period, retryAt when it frees, admitted again after', async (s) => {
      // a period long enough that the calls between two checks fit in it on a loaded machine
      const P = 600
      const need = rate('rateLimit', 'k', 2, P)
      const t0 = Date.now()
      await admit(s, { holder: 'a', needs: [need] })
      const t1 = Date.now()
      await sleep(P / 2)
      await admit(s, { holder: 'b', needs: [need] })
      const tb = Date.now()
      // a release gives back no admission: the window counts admissions, not holders
      await s.releaseLimit(SCOPE, 'a')
      const refused = await s.acquireLimit(SCOPE, { holder: 'c', needs: [need], onBusy: 'refuse' })
      expect(refused).toMatchObject({ state: 'refused', blocked: { id: 'rateLimit', key: 'k' } })
      // when a's admission leaves the window
      const retryAt = refused.state === 'refused' ? (refused.blocked.retryAt as number) : 0
      expect(retryAt).toBeGreaterThanOrEqual(t0 + P - SKEW)
      expect(retryAt).toBeLessThanOrEqual(t1 + P + SKEW)
      const queued = await queue(s, { holder: 'c', needs: [need] })
      // ahead: none waits before c in its line
      expect(queued).toEqual({ state: 'queued', admitted: [], blocked: { id: 'rateLimit', key: 'k', retryAt, ahead: 0 } })
      const d = await queue(s, { holder: 'd0', needs: [need] })
      expect(d).toMatchObject({ state: 'queued', blocked: { id: 'rateLimit', ahead: 1 } })
      // each its own turn: d0 after c takes a's place, when b's admission (P/2 later) leaves the
      // window; e0, two places further, a period after c
      const dAt = d.state === 'queued' ? (d.blocked?.retryAt as number) : 0
      expect(dAt).toBeGreaterThanOrEqual(retryAt + P / 2 - SKEW)
      expect(dAt).toBeLessThanOrEqual(tb + P + SKEW)
      expect(await queue(s, { holder: 'e0', needs: [need] })).toMatchObject({ blocked: { ahead: 2, retryAt: retryAt + P } })
      await s.releaseLimit(SCOPE, 'e0')
      await s.releaseLimit(SCOPE, 'd0')
      expect(await usage(s)).toEqual([{ id: 'rateLimit', kind: 'rate', key: 'k', active: 2, queued: 1 }])
      // still waiting before retryAt (asked again: it keeps its place)
      expect(await s.acquireLimit(SCOPE, { holder: 'c', needs: [need] })).toMatchObject({ state: 'queued' })
      await sleep(Math.max(0, retryAt - Date.now()) + SKEW)
      // a's admission left the window: c is admitted; b's is still in it, so the window is full again
      expect(await s.acquireLimit(SCOPE, { holder: 'c', needs: [need] })).toEqual({ state: 'admitted', admitted: ['c'] })
      const tc = Date.now()
      expect(await s.acquireLimit(SCOPE, { holder: 'd', needs: [need], onBusy: 'refuse' })).toMatchObject({ state: 'refused' })
      expect(await usage(s)).toEqual([{ id: 'rateLimit', kind: 'rate', key: 'k', active: 2, queued: 0 }])
      await sleep(Math.max(0, tb + P - Date.now()) + SKEW)
      expect(await usage(s)).toEqual([{ id: 'rateLimit', kind: 'rate', key: 'k', active: 1, queued: 0 }])
      await sleep(Math.max(0, tc + P - Date.now()) + SKEW)
      expect(await usage(s)).toEqual([])
    })

    test('rate window: admissions never exceed the limit in any window of the period', async (s) => {
      const need = rate('rateLimit', '', 3, 300)
      const times: number[] = []
      const end = Date.now() + 1000
      let n = 0
      while (Date.now() < end) {
        const a = await s.acquireLimit(SCOPE, { holder: `r${n++}`, needs: [need], onBusy: 'refuse' })
        if (a.state === 'admitted') times.push(Date.now())
        await sleep(10)
      }
      // stamped after the store's decision, a round trip late at most: windows here are 100 ms short of the period
      for (const t of times) expect(times.filter((u) => u >= t && u < t + 200).length).toBeLessThanOrEqual(3)
      expect(times.length).toBeGreaterThanOrEqual(6)
    })

    test('refuse mode: a refused call writes nothing, not even its singleton key', async (s) => {
      const need = conc('concurrency.0', '', 1)
      await admit(s, { holder: 'a', needs: [need] })
      const before = await usage(s)
      expect(
        await s.acquireLimit(SCOPE, { holder: 'b', needs: [need], onBusy: 'refuse', singleton: { key: 'u1', mode: 'cancel' } }),
      ).toEqual({ state: 'refused', blocked: { id: 'concurrency.0', key: '' } })
      expect(await usage(s)).toEqual(before)
      expect(await holders(s)).toEqual(['a'])
      // the singleton key was not taken: another holder gets it
      await admit(s, { holder: 'c', needs: [conc('other', '', 5)], singleton: { key: 'u1', mode: 'skip' } })
      // b is nowhere: a release of `a` admits nobody
      expect(await s.releaseLimit(SCOPE, 'a')).toEqual({ admitted: [] })
      // a line that waits refuses a newcomer too (it would jump the line)
      await admit(s, { holder: 'd', needs: [need] })
      await queue(s, { holder: 'e', needs: [need] })
      expect(await s.acquireLimit(SCOPE, { holder: 'f', needs: [need], onBusy: 'refuse' })).toMatchObject({ state: 'refused' })
      expect(await s.releaseLimit(SCOPE, 'd')).toEqual({ admitted: ['e'] })
    })

    test('refuse mode hides no admission: a refused call admits no one from the queue (its answer could not name them)', async (s) => {
      // w waits for the shared rate window in its own line; the window frees with no call to admit it
      const r = rate('rateLimit', '', 1, 300)
      await admit(s, { holder: 'v', needs: [conc('v', '', 5), r] })
      const w = await queue(s, { holder: 'w', needs: [conc('w', '', 5), r] })
      const retryAt = w.state === 'queued' ? (w.blocked?.retryAt as number) : 0
      await sleep(Math.max(0, retryAt - Date.now()) + SKEW)
      const before = await usage(s)
      const x = await s.acquireLimit(SCOPE, { holder: 'x', needs: [conc('x', '', 5), r], onBusy: 'refuse' })
      if (x.state === 'refused') {
        // nothing changed: w was not admitted behind the caller's back
        expect(await usage(s)).toEqual(before)
        expect(await s.acquireLimit(SCOPE, { holder: 'w', needs: [conc('w', '', 5), r] })).toEqual({ state: 'admitted', admitted: ['w'] })
      } else {
        // admitted: every holder this call admitted is in its answer
        expect(x).toMatchObject({ state: 'admitted' })
        const admitted = x.state === 'admitted' ? x.admitted : []
        expect(admitted).toContain('x')
        const active = (await usage(s)).filter((u) => u.kind === 'concurrency').reduce((n, u) => n + u.active, 0)
        expect(active).toBe(1 + admitted.length) // v, and those admitted now
      }
    })

    test('asking again: an admitted holder is admitted again and takes nothing twice; a queued one keeps its place', async (s) => {
      const c = conc('concurrency.0', '', 1)
      const r = rate('rateLimit', '', 5, 60_000)
      expect(await s.acquireLimit(SCOPE, { holder: 'a', needs: [c, r], leaseMs: 5000 })).toEqual({ state: 'admitted', admitted: ['a'] })
      // admitted again: not "admitted by this call" (it already held its slots)
      expect(await s.acquireLimit(SCOPE, { holder: 'a', needs: [c, r], leaseMs: 5000 })).toEqual({ state: 'admitted', admitted: [] })
      expect(await s.acquireLimit(SCOPE, { holder: 'a', needs: [c, r] })).toEqual({ state: 'admitted', admitted: [] })
      expect(await s.renewLimit(SCOPE, 'a', 5000)).toBe(true)
      expect(await usage(s)).toEqual([
        { id: 'concurrency.0', kind: 'concurrency', key: '', active: 1, queued: 0 },
        { id: 'rateLimit', kind: 'rate', key: '', active: 1, queued: 0 },
      ])
      await queue(s, { holder: 'b', needs: [c] })
      await queue(s, { holder: 'c', needs: [c] })
      // c asks again, at a higher priority: it keeps its place behind b
      await queue(s, { holder: 'c', needs: [c], priority: 100 })
      await queue(s, { holder: 'b', needs: [c] })
      expect(await usage(s)).toContainEqual({ id: 'concurrency.0', kind: 'concurrency', key: '', active: 1, queued: 2 })
      expect(await s.releaseLimit(SCOPE, 'a')).toEqual({ admitted: ['b'] })
      expect(await s.releaseLimit(SCOPE, 'b')).toEqual({ admitted: ['c'] })
    })

    test('releasing what is not held changes nothing', async (s) => {
      expect(await s.releaseLimit(SCOPE, 'ghost')).toEqual({ admitted: [] })
      expect(await s.releaseLimit('sync/step', 'ghost~step')).toEqual({ admitted: [] })
      await admit(s, { holder: 'a', needs: [conc('concurrency.0', '', 1)] })
      expect(await s.releaseLimit(SCOPE, 'ghost')).toEqual({ admitted: [] })
      expect(await holders(s)).toEqual(['a'])
      expect(await s.renewLimit(SCOPE, 'ghost', 1000)).toBe(false)
    })

    test('a leased slot expires and frees its capacity; retryAt is the earliest expiry', async (s) => {
      const need = conc('concurrency.0', '', 2)
      const t0 = Date.now()
      await admit(s, { holder: 'a~s', needs: [need], leaseMs: 200 }, 'sync/s')
      await admit(s, { holder: 'b~s', needs: [need], leaseMs: 2000 }, 'sync/s')
      const t1 = Date.now()
      const refused = await s.acquireLimit('sync/s', { holder: 'c~s', needs: [need], onBusy: 'refuse', leaseMs: 200 })
      expect(refused).toMatchObject({ state: 'refused', blocked: { id: 'concurrency.0', key: '' } })
      const retryAt = refused.state === 'refused' ? (refused.blocked.retryAt as number) : 0
      expect(retryAt).toBeGreaterThanOrEqual(t0 + 200 - SKEW)
      expect(retryAt).toBeLessThanOrEqual(t1 + 200 + SKEW)
      // leased holders are not the runs a runner checks
      expect(await holders(s, 'sync/s')).toEqual([])
      await sleep(Math.max(0, retryAt - Date.now()) + SKEW)
      expect(await usage(s, 'sync/s')).toEqual([{ id: 'concurrency.0', kind: 'concurrency', key: '', active: 1, queued: 0 }])
      expect(await s.acquireLimit('sync/s', { holder: 'c~s', needs: [need], onBusy: 'refuse', leaseMs: 200 })).toEqual({
        state: 'admitted',
        admitted: ['c~s'],
      })
      // the expired holder holds nothing: no renewal, and asking again is asking anew (the limit is full)
      expect(await s.renewLimit('sync/s', 'a~s', 1000)).toBe(false)
      expect(await s.acquireLimit('sync/s', { holder: 'a~s', needs: [need], leaseMs: 200 })).toMatchObject({ state: 'queued' })
      // a queued holder waits for the expiry: asking again once it passed admits it
      await sleep(200 + SKEW)
      expect(await s.acquireLimit('sync/s', { holder: 'a~s', needs: [need], leaseMs: 200 })).toEqual({
        state: 'admitted',
        admitted: ['a~s'],
      })
    })

    test('renewLimit keeps a leased slot held; without it the slot frees', async (s) => {
      const need = conc('concurrency.0', '', 1)
      await admit(s, { holder: 'a~s', needs: [need], leaseMs: 300 }, 'sync/s')
      for (let i = 0; i < 5; i++) {
        await sleep(100)
        expect(await s.renewLimit('sync/s', 'a~s', 300)).toBe(true)
      }
      expect(await s.acquireLimit('sync/s', { holder: 'b~s', needs: [need], onBusy: 'refuse' })).toMatchObject({ state: 'refused' })
      await sleep(300 + SKEW)
      expect(await s.renewLimit('sync/s', 'a~s', 300)).toBe(false)
      await admit(s, { holder: 'b~s', needs: [need] }, 'sync/s')
      // an unleased holder holds its slots too; a released one holds nothing
      expect(await s.renewLimit('sync/s', 'b~s', 60_000)).toBe(true)
      await s.releaseLimit('sync/s', 'b~s')
      expect(await s.renewLimit('sync/s', 'b~s', 300)).toBe(false)
    })

    test('limitHolders: the holders of unleased concurrency slots, not leased, queued or rate-only ones', async (s) => {
      const c = conc('concurrency.0', '', 3)
      await admit(s, { holder: 'a', needs: [c] })
      await admit(s, { holder: 'b', needs: [c], leaseMs: 60_000 })
      await admit(s, { holder: 'r', needs: [rate('rateLimit', '', 10, 60_000)] })
      await admit(s, { holder: 'm', needs: [conc('other', 'k', 1), c] })
      await queue(s, { holder: 'q', needs: [c] })
      expect(await holders(s)).toEqual(['a', 'm'])
      await s.releaseLimit(SCOPE, 'a')
      expect(await holders(s)).toEqual(['m', 'q'])
      expect(await holders(s, 'other')).toEqual([])
    })

    test('limitUsage: holders, admissions in the window and lines of each limit; idle limits are left out', async (s) => {
      expect(await usage(s)).toEqual([])
      const t1 = conc('concurrency.0', 't1', 2)
      const r = rate('rateLimit', '', 10, 400)
      await admit(s, { holder: 'a', needs: [t1, r] })
      await admit(s, { holder: 'b', needs: [t1, r] })
      await queue(s, { holder: 'c', needs: [t1, r] })
      await queue(s, { holder: 'd', needs: [t1, r], priority: 9 })
      await admit(s, { holder: 'e', needs: [conc('concurrency.0', 't2', 2), r] })
      expect(await usage(s)).toEqual([
        { id: 'concurrency.0', kind: 'concurrency', key: 't1', active: 2, queued: 2 },
        { id: 'concurrency.0', kind: 'concurrency', key: 't2', active: 1, queued: 0 },
        { id: 'rateLimit', kind: 'rate', key: '', active: 3, queued: 0 },
      ])
      for (const h of ['a', 'b', 'c', 'd', 'e']) await s.releaseLimit(SCOPE, h)
      expect(await usage(s)).toEqual([{ id: 'rateLimit', kind: 'rate', key: '', active: 5, queued: 0 }])
      expect(await usage(s, 'sync/other')).toEqual([])
      await sleep(400 + SKEW)
      expect(await usage(s)).toEqual([])
    })

    limitModeCases(test)
  })
}
