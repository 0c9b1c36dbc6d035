// LimitStore conformance: singletons (skip, cancel), debounce, refusals of bad input and a race.
// Registered by describeLimitStoreConformance, so it runs on every store that suite runs on.
import type { LimitStore } from '@leanflow/core'
import { expect } from 'vitest'
import { codeOf } from './internal/errorCode.js'
import { admit, conc, holders, queue, rate, SCOPE, SKEW, sleep, usage } from './internal/limitKit.js'

/** Registers the cases with the suite's `test` (each on a fresh store). */
export function limitModeCases(test: (title: string, fn: (s: LimitStore) => Promise<void>) => void): void {
  test('refuseRate: refused (nothing taken) while a rate window is full; let in, it counts in the window at once and waits in its concurrency line', async (s) => {
    const c = conc('concurrency.0', 't1', 1)
    const r = rate('rateLimit', 't1', 2, 60_000)
    await admit(s, { holder: 'a', needs: [c, r], onBusy: 'refuseRate' })
    // the slot is full, the window has room (1 of 2): let in, it counts in the window now and
    // waits in the concurrency limit's line
    expect(await s.acquireLimit(SCOPE, { holder: 'b', needs: [c, r], onBusy: 'refuseRate' })).toMatchObject({ state: 'queued' })
    expect(await usage(s)).toEqual([
      { id: 'concurrency.0', kind: 'concurrency', key: 't1', active: 1, queued: 1 },
      { id: 'rateLimit', kind: 'rate', key: 't1', active: 2, queued: 0 },
    ])
    // two let in: a newcomer is refused, naming the rate limit and when it frees, and nothing changes
    const refused = await s.acquireLimit(SCOPE, { holder: 'c', needs: [c, r], onBusy: 'refuseRate' })
    expect(refused).toMatchObject({ state: 'refused', blocked: { id: 'rateLimit', key: 't1' } })
    expect(refused.state === 'refused' && typeof refused.blocked.retryAt).toBe('number')
    // the release admits the waiting one without another admission in the window
    expect(await s.releaseLimit(SCOPE, 'a')).toMatchObject({ admitted: ['b'] })
    expect(await usage(s)).toEqual([
      { id: 'concurrency.0', kind: 'concurrency', key: 't1', active: 1, queued: 0 },
      { id: 'rateLimit', kind: 'rate', key: 't1', active: 2, queued: 0 },
    ])
    // a drop rate limit alone: let in is admitted
    const only = rate('solo', '', 1, 60_000)
    expect(await s.acquireLimit(SCOPE, { holder: 'd', needs: [only], onBusy: 'refuseRate' })).toMatchObject({ state: 'admitted' })
    expect(await s.acquireLimit(SCOPE, { holder: 'e', needs: [only], onBusy: 'refuseRate' })).toMatchObject({ state: 'refused' })
    await s.releaseLimit(SCOPE, 'd')
  })

  test('singleton skip: the active holder (queued ones count) is answered and nothing is written; a release frees the key', async (s) => {
    const need = conc('concurrency.0', '', 1)
    await admit(s, { holder: 'a', needs: [need], singleton: { key: 'u1', mode: 'skip' } })
    expect(await s.acquireLimit(SCOPE, { holder: 'b', needs: [need], singleton: { key: 'u1', mode: 'skip' } })).toEqual({
      state: 'taken',
      holder: 'a',
    })
    expect(await usage(s)).toEqual([{ id: 'concurrency.0', kind: 'concurrency', key: '', active: 1, queued: 0 }])
    // the holder itself asking again is not skipped
    expect(await s.acquireLimit(SCOPE, { holder: 'a', needs: [need], singleton: { key: 'u1', mode: 'skip' } })).toEqual({
      state: 'admitted',
      admitted: [],
    })
    // another key is free; a queued holder holds its key
    await queue(s, { holder: 'c', needs: [need], singleton: { key: 'u2', mode: 'skip' } })
    expect(await s.acquireLimit(SCOPE, { holder: 'd', needs: [need], singleton: { key: 'u2', mode: 'skip' } })).toEqual({
      state: 'taken',
      holder: 'c',
    })
    expect(await s.releaseLimit(SCOPE, 'a')).toEqual({ admitted: ['c'] })
    // a singleton without needs
    expect(await s.acquireLimit(SCOPE, { holder: 'e', needs: [], singleton: { key: 'u1', mode: 'skip' } })).toEqual({
      state: 'admitted',
      admitted: ['e'],
    })
    expect(await s.acquireLimit(SCOPE, { holder: 'f', needs: [], singleton: { key: 'u1', mode: 'skip' } })).toEqual({
      state: 'taken',
      holder: 'e',
    })
    await s.releaseLimit(SCOPE, 'e')
    await admit(s, { holder: 'f', needs: [], singleton: { key: 'u1', mode: 'skip' } })
  })

  test('singleton cancel: takes the key over and names the holder it supersedes, whose late release leaves the key', async (s) => {
    const need = conc('concurrency.0', '', 5)
    await admit(s, { holder: 'a', needs: [need], singleton: { key: 'u1', mode: 'cancel' } })
    expect(await s.acquireLimit(SCOPE, { holder: 'b', needs: [need], singleton: { key: 'u1', mode: 'cancel' } })).toEqual({
      state: 'admitted',
      admitted: ['b'],
      superseded: 'a',
    })
    expect(await s.acquireLimit(SCOPE, { holder: 'c', needs: [need], singleton: { key: 'u1', mode: 'skip' } })).toEqual({
      state: 'taken',
      holder: 'b',
    })
    // the superseded run's release (the caller canceled it) frees its slot, not b's key
    expect(await s.releaseLimit(SCOPE, 'a')).toEqual({ admitted: [] })
    expect(await s.acquireLimit(SCOPE, { holder: 'c', needs: [need], singleton: { key: 'u1', mode: 'skip' } })).toEqual({
      state: 'taken',
      holder: 'b',
    })
    await s.releaseLimit(SCOPE, 'b')
    expect(await s.acquireLimit(SCOPE, { holder: 'c', needs: [need], singleton: { key: 'u1', mode: 'cancel' } })).toEqual({
      state: 'admitted',
      admitted: ['c'],
    })
    // a queued holder takes the key over too
    const one = conc('one', '', 1)
    await admit(s, { holder: 'x', needs: [one] })
    expect(await s.acquireLimit(SCOPE, { holder: 'd', needs: [one], singleton: { key: 'u1', mode: 'cancel' } })).toEqual({
      state: 'queued',
      admitted: [],
      blocked: { id: 'one', key: '' },
      superseded: 'c',
    })
  })

  test('debounce: calls fold into the first holder, the last input wins, settle closes the window when due', async (s) => {
    const t0 = Date.now()
    const first = await s.debounce(SCOPE, 'u1', 'r1', { periodMs: 300, input: { n: 1 } })
    expect(first).toMatchObject({ holder: 'r1', first: true })
    expect(first.until).toBeGreaterThanOrEqual(t0 + 300 - SKEW)
    expect(first.until).toBeLessThanOrEqual(Date.now() + 300 + SKEW)
    await sleep(50)
    const second = await s.debounce(SCOPE, 'u1', 'r2', { periodMs: 300, input: { n: 2 } })
    expect(second).toMatchObject({ holder: 'r1', first: false })
    expect(second.until).toBeGreaterThan(first.until)
    // another key is another window
    expect(await s.debounce(SCOPE, 'u2', 'r3', { periodMs: 300, input: 'x' })).toMatchObject({ holder: 'r3', first: true })
    expect(await s.settleDebounce(SCOPE, 'u1', 'r1')).toEqual({ until: second.until })
    expect(await s.settleDebounce(SCOPE, 'u1', 'r2')).toBeNull()
    expect(await s.settleDebounce(SCOPE, 'u3', 'r1')).toBeNull()
    await sleep(Math.max(0, second.until - Date.now()) + SKEW)
    expect(await s.settleDebounce(SCOPE, 'u1', 'r1')).toEqual({ input: { n: 2 } })
    expect(await s.settleDebounce(SCOPE, 'u1', 'r1')).toBeNull()
    // the window is closed: the next call opens a new one
    expect(await s.debounce(SCOPE, 'u1', 'r4', { periodMs: 300, input: [1, 'two', null] })).toMatchObject({ holder: 'r4', first: true })
    expect(await s.settleDebounce(SCOPE, 'u2', 'r3')).toEqual({ input: 'x' })
    // a key-less window; an input of undefined is kept as null
    expect(await s.debounce('sync/s', '', 'r5', { periodMs: 1, input: undefined })).toMatchObject({ holder: 'r5', first: true })
    await sleep(5)
    expect(await s.settleDebounce('sync/s', '', 'r5')).toEqual({ input: null })
  })

  test('debounce maxWait: calls keep coming, and the window is due maxWait after the first', async (s) => {
    const opts = { periodMs: 200, maxWaitMs: 350 }
    const first = await s.debounce(SCOPE, 'k', 'r1', { ...opts, input: 0 })
    const start = first.until - 200
    let last = first
    for (let i = 1; i <= 5; i++) {
      await sleep(90)
      last = await s.debounce(SCOPE, 'k', `r${i + 1}`, { ...opts, input: i })
      expect(last).toMatchObject({ holder: 'r1', first: false })
      expect(last.until).toBeLessThanOrEqual(start + 350)
    }
    expect(last.until).toBe(start + 350)
    await sleep(Math.max(0, last.until - Date.now()) + SKEW)
    expect(await s.settleDebounce(SCOPE, 'k', 'r1')).toEqual({ input: 5 })
  })

  test('rate lines: the head leaving, admitted, or let in by a freed slot names the head and its turn (next)', async (s) => {
    const P = 400
    const need = rate('rateLimit', 'k', 1, P)
    await admit(s, { holder: 'a', needs: [need] })
    const b = await queue(s, { holder: 'b', needs: [need] })
    const turn = b.state === 'queued' ? (b.blocked?.retryAt as number) : 0
    for (const [h, ahead] of [
      ['c', 1],
      ['d', 2],
    ] as const) {
      expect(await queue(s, { holder: h, needs: [need] })).toMatchObject({ blocked: { ahead, retryAt: turn + ahead * P } })
    }
    // one behind the head leaves: the head's turn is as it was (those behind it are named as it is admitted)
    expect(await s.releaseLimit(SCOPE, 'c')).toEqual({ admitted: [] })
    // the head leaves: the one now first takes its turn, a period sooner than it was told
    expect(await s.releaseLimit(SCOPE, 'b')).toEqual({ admitted: [], next: [{ holder: 'd', retryAt: turn }] })
    expect(await queue(s, { holder: 'e', needs: [need] })).toMatchObject({ blocked: { ahead: 1, retryAt: turn + P } })
    await sleep(Math.max(0, turn - Date.now()) + SKEW)
    // the head admitted: the one behind it is first, its turn a period after this admission
    const t = Date.now()
    const d = await s.acquireLimit(SCOPE, { holder: 'd', needs: [need] })
    expect(d).toMatchObject({ state: 'admitted', admitted: ['d'], next: [{ holder: 'e' }] })
    const next = d.state === 'admitted' ? (d.next?.[0]?.retryAt as number) : 0
    expect(next).toBeGreaterThanOrEqual(t + P - SKEW)
    expect(next).toBeLessThanOrEqual(Date.now() + P + SKEW)
    // a concurrency line names no turn: a freed slot admits by itself
    const c = conc('c', '', 1)
    await admit(s, { holder: 'x', needs: [c] })
    await queue(s, { holder: 'y', needs: [c] })
    await queue(s, { holder: 'z', needs: [c] })
    expect(await s.releaseLimit(SCOPE, 'y')).toEqual({ admitted: [] })
    // a full concurrency slot freed, its head now kept out by a rate window: named with its turn
    const [c2, r2] = [conc('c2', '', 1), rate('r2', '', 1, P)]
    const t2 = Date.now()
    await admit(s, { holder: 'p', needs: [c2, r2] })
    expect(await queue(s, { holder: 'q', needs: [c2, r2] })).toMatchObject({ blocked: { id: 'c2' } })
    const freed = await s.releaseLimit(SCOPE, 'p')
    expect(freed).toMatchObject({ admitted: [], next: [{ holder: 'q' }] })
    const qAt = freed.next?.[0]?.retryAt as number
    expect(qAt).toBeGreaterThanOrEqual(t2 + P - SKEW)
    expect(qAt).toBeLessThanOrEqual(Date.now() + P + SKEW)
  })

  test('dropDebounce (optional) closes a window before it is due: the next call opens a new one; another holder or key is left', async (s) => {
    if (s.dropDebounce === undefined) return // optional on the port: a store without it keeps windows until due
    await s.debounce(SCOPE, 'u1', 'r1', { periodMs: 60_000, input: 1 })
    await s.debounce(SCOPE, 'u2', 'r2', { periodMs: 60_000, input: 2 })
    expect(await s.dropDebounce(SCOPE, 'u1', 'r9')).toBe(false) // not its window
    expect(await s.dropDebounce(SCOPE, 'u1', 'r1')).toBe(true)
    expect(await s.dropDebounce(SCOPE, 'u1', 'r1')).toBe(false) // already closed
    expect(await s.settleDebounce(SCOPE, 'u1', 'r1')).toBeNull()
    expect(await s.debounce(SCOPE, 'u1', 'r3', { periodMs: 60_000, input: 3 })).toMatchObject({ holder: 'r3', first: true })
    expect(await s.debounce(SCOPE, 'u2', 'r4', { periodMs: 60_000, input: 4 })).toMatchObject({ holder: 'r2', first: false })
    expect(await codeOf(s.dropDebounce(SCOPE, 'a b', 'r1'))).toBe('INVALID_NAME')
  })

  test('bad input is refused with its code before anything is written', async (s) => {
    const ok = conc('concurrency.0', '', 1)
    const cases: Array<[string, () => Promise<unknown>]> = [
      ['INVALID_NAME', () => s.acquireLimit('a:b', { holder: 'r1', needs: [ok] })],
      ['INVALID_NAME', () => s.acquireLimit('a/b/c', { holder: 'r1', needs: [ok] })],
      ['INVALID_NAME', () => s.acquireLimit('', { holder: 'r1', needs: [ok] })],
      ['INVALID_NAME', () => s.acquireLimit(SCOPE, { holder: 'r 1', needs: [ok] })],
      ['INVALID_NAME', () => s.acquireLimit(SCOPE, { holder: 'r1~a~b', needs: [ok] })],
      ['INVALID_NAME', () => s.acquireLimit(SCOPE, { holder: 'r1', needs: [conc('concurrency.0', 'k'.repeat(129), 1)] })],
      ['INVALID_NAME', () => s.acquireLimit(SCOPE, { holder: 'r1', needs: [conc('concurrency.0', 'a:b', 1)] })],
      ['INVALID_NAME', () => s.acquireLimit(SCOPE, { holder: 'r1', needs: [conc('bad id', '', 1)] })],
      ['INVALID_NAME', () => s.acquireLimit(SCOPE, { holder: 'r1', needs: [ok], singleton: { key: 'a b', mode: 'skip' } })],
      ['INVALID_ARGUMENT', () => s.acquireLimit(SCOPE, { holder: 'r1', needs: [conc('concurrency.0', '', 0)] })],
      ['INVALID_ARGUMENT', () => s.acquireLimit(SCOPE, { holder: 'r1', needs: [conc('concurrency.0', '', 1.5)] })],
      ['INVALID_ARGUMENT', () => s.acquireLimit(SCOPE, { holder: 'r1', needs: [{ id: 'x', key: '', limit: 1, kind: 'other' as 'rate' }] })],
      ['INVALID_ARGUMENT', () => s.acquireLimit(SCOPE, { holder: 'r1', needs: [{ id: 'x', key: '', limit: 1, kind: 'rate' }] })],
      ['INVALID_ARGUMENT', () => s.acquireLimit(SCOPE, { holder: 'r1', needs: [rate('x', '', 1, 0)] })],
      ['INVALID_ARGUMENT', () => s.acquireLimit(SCOPE, { holder: 'r1', needs: [ok, conc('concurrency.0', 'k', 2)] })],
      ['INVALID_ARGUMENT', () => s.acquireLimit(SCOPE, { holder: 'r1', needs: [] })],
      ['INVALID_ARGUMENT', () => s.acquireLimit(SCOPE, { holder: 'r1', needs: [ok], priority: 101 })],
      ['INVALID_ARGUMENT', () => s.acquireLimit(SCOPE, { holder: 'r1', needs: [ok], priority: -101 })],
      ['INVALID_ARGUMENT', () => s.acquireLimit(SCOPE, { holder: 'r1', needs: [ok], priority: 1.5 })],
      ['INVALID_ARGUMENT', () => s.acquireLimit(SCOPE, { holder: 'r1', needs: [ok], leaseMs: 0 })],
      ['INVALID_ARGUMENT', () => s.acquireLimit(SCOPE, { holder: 'r1', needs: [ok], onBusy: 'drop' as 'refuse' })],
      ['INVALID_ARGUMENT', () => s.acquireLimit(SCOPE, { holder: 'r1', needs: [ok], singleton: { key: 'u', mode: 'x' as 'skip' } })],
      ['INVALID_NAME', () => s.releaseLimit(SCOPE, 'bad:holder')],
      ['INVALID_NAME', () => s.releaseLimit('a b', 'r1')],
      ['INVALID_ARGUMENT', () => s.renewLimit(SCOPE, 'r1', 0)],
      ['INVALID_NAME', () => s.renewLimit(SCOPE, '', 100)],
      ['INVALID_NAME', () => s.limitHolders('a:b')],
      ['INVALID_NAME', () => s.limitUsage('')],
      ['INVALID_ARGUMENT', () => s.debounce(SCOPE, 'u', 'r1', { periodMs: 0, input: 1 })],
      ['INVALID_ARGUMENT', () => s.debounce(SCOPE, 'u', 'r1', { periodMs: 100, maxWaitMs: -1, input: 1 })],
      ['INVALID_ARGUMENT', () => s.debounce(SCOPE, 'u', 'r1', { periodMs: 100, input: { big: 1n } })],
      ['INVALID_NAME', () => s.debounce(SCOPE, 'a b', 'r1', { periodMs: 100, input: 1 })],
      ['INVALID_NAME', () => s.debounce(SCOPE, 'u', 'r:1', { periodMs: 100, input: 1 })],
      ['INVALID_NAME', () => s.settleDebounce(SCOPE, 'u', 'r 1')],
    ]
    for (const [code, call] of cases) expect({ call: String(call), code: await codeOf(call) }).toEqual({ call: String(call), code })
    expect(await usage(s)).toEqual([])
    expect(await holders(s)).toEqual([])
    expect(await s.settleDebounce(SCOPE, 'u', 'r1')).toBeNull()
    // nothing was queued or taken: r1 is admitted at once, alone
    expect(await s.acquireLimit(SCOPE, { holder: 'r1', needs: [ok], singleton: { key: 'u', mode: 'skip' } })).toEqual({
      state: 'admitted',
      admitted: ['r1'],
    })
  })

  test('a race: 20 concurrent acquires on limit 3 admit exactly 3; 3 concurrent releases admit exactly 3 more', async (s) => {
    const need = conc('concurrency.0', '', 3)
    const racers = Array.from({ length: 20 }, (_, i) => `r${i}`)
    const answers = await Promise.all(racers.map((holder) => s.acquireLimit(SCOPE, { holder, needs: [need] })))
    const admitted = racers.filter((_, i) => answers[i]?.state === 'admitted')
    expect(admitted).toHaveLength(3)
    expect(answers.filter((a) => a.state === 'queued')).toHaveLength(17)
    expect(answers.flatMap((a) => (a.state === 'admitted' || a.state === 'queued' ? a.admitted : [])).sort()).toEqual([...admitted].sort())
    expect(await usage(s)).toEqual([{ id: 'concurrency.0', kind: 'concurrency', key: '', active: 3, queued: 17 }])
    const released = await Promise.all(admitted.map((h) => s.releaseLimit(SCOPE, h)))
    const next = released.flatMap((r) => r.admitted)
    expect(next).toHaveLength(3)
    expect(new Set(next).size).toBe(3)
    for (const h of next) expect(admitted).not.toContain(h)
    expect(await holders(s)).toEqual([...next].sort())
    expect(await usage(s)).toEqual([{ id: 'concurrency.0', kind: 'concurrency', key: '', active: 3, queued: 14 }])
  })
}
