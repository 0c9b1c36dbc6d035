import type { RunStateStore, StreamStore } from '@leanflow/core'
import { describe, expect, it } from 'vitest'
import { createRunConformance } from './runStateConformanceCreate.js'
import { outboxConformance } from './runStateConformanceOutbox.js'
import { eventually, expectCode, show } from './streamStoreConformanceKit.js'

/** A store implementing both ports (both built-in stores do): createRun needs the event log. */
export type FullStore = RunStateStore & StreamStore

/**
 * Makes a fresh, empty store for one test (the suite uses fixed run ids such as `r1`, so each
 * store needs its own key prefix, schema or database) and a `cleanup` that closes it.
 */
export type RunStateStoreFactory = () => Promise<{ store: FullStore; cleanup: () => Promise<void> }>

/**
 * The `RunStateStore` contract as tests, run against every implementation: compare-and-set of
 * the run document (create once, then only on the current version; 50 concurrent writers, one
 * winner), the caller's JSON kept as given, `__proto__` keys as data, lookups (first value wins),
 * external events (one global sequence, read after a position, idempotent by key), kind watchers,
 * the store clock, `createRun` (a run's state and its first event, all or nothing), and the
 * optional outbox of child outcomes (`putChildOutcome`, `takeChildOutcomes`, `dropChildOutcomes`).
 *
 * @example
 * ```ts
 * import { createMemoryStreamStore } from '@leanflow/core'
 * import { describeRunStateConformance } from '@leanflow/testing'
 *
 * describeRunStateConformance('memory', async () => {
 *   const store = createMemoryStreamStore()
 *   return { store, cleanup: () => store.close() }
 * })
 * ```
 */
export function describeRunStateConformance(label: string, make: RunStateStoreFactory): void {
  const withStore = (fn: (s: FullStore) => Promise<void>) => async () => {
    const { store, cleanup } = await make()
    try {
      await fn(store)
    } finally {
      await cleanup()
    }
  }

  describe(`RunStateStore conformance: ${label}`, () => {
    it(
      'compare-and-set: create once, then only on the current version; a conflict returns the current record',
      withStore(async (s) => {
        expect(await s.getRunState('r1')).toBeNull()
        expect(await s.casRunState('r1', 0, { n: 1 })).toEqual({ ok: true, version: 1 })
        expect(await s.casRunState('r1', 0, { n: 9 })).toEqual({ ok: false, current: { version: 1, doc: { n: 1 } } })
        expect(await s.casRunState('r1', 1, { n: 2 })).toEqual({ ok: true, version: 2 })
        expect(await s.casRunState('r1', 1, { n: 3 })).toEqual({ ok: false, current: { version: 2, doc: { n: 2 } } })
        expect(await s.casRunState('r2', 5, { n: 1 })).toEqual({ ok: false, current: null })
        expect(await s.getRunState('r1')).toEqual({ version: 2, doc: { n: 2 } })
      }),
    )

    it(
      'compare-and-set with the JSON the caller serialized: stored and read back as that document',
      withStore(async (s) => {
        const doc = { n: 1, s: 'a "quoted" \u2028 value', a: [1, null, { b: true }] }
        expect(await s.casRunState('rj', 0, doc, { json: JSON.stringify(doc) })).toEqual({ ok: true, version: 1 })
        expect(await s.getRunState('rj')).toEqual({ version: 1, doc })
        expect(await s.casRunState('rj', 0, { n: 2 }, { json: '{"n":2}' })).toEqual({ ok: false, current: { version: 1, doc } })
      }),
    )

    it(
      'a document with an own "__proto__" key round-trips as a key and pollutes nothing',
      withStore(async (s) => {
        // an object literal { __proto__: … } sets a prototype and makes no key: build the key with JSON.parse
        const json = '{"__proto__":{"polluted":"yes"},"nested":{"__proto__":{"polluted":1},"a":[1,null,"b"]}}'
        const doc = JSON.parse(json) as Record<string, unknown>
        expect(Object.keys(doc)).toContain('__proto__')
        expect(await s.casRunState('r3', 0, doc)).toEqual({ ok: true, version: 1 })
        const back = (await s.getRunState<Record<string, unknown>>('r3'))!.doc
        expect(Object.hasOwn(back, '__proto__')).toBe(true)
        expect(JSON.stringify(back)).toBe(json)
        expect(Object.hasOwn(back.nested as object, '__proto__')).toBe(true)
        expect(({} as Record<string, unknown>).polluted).toBeUndefined()
        expect((back as { polluted?: unknown }).polluted).toBeUndefined()
        // a conflict answers the stored document the same way
        const res = await s.casRunState('r3', 0, {})
        expect(res.ok).toBe(false)
        expect(JSON.stringify(!res.ok && res.current?.doc)).toBe(json)
      }),
    )

    it(
      'refuses what it cannot name or store, writing nothing: a bad run id (INVALID_NAME), a version that is no whole number, a document JSON cannot hold, options that are no object (INVALID_ARGUMENT)',
      withStore(async (s) => {
        for (const bad of ['a:b', '__proto__', '', 'x'.repeat(129)]) {
          await expectCode(s.casRunState(bad, 0, { n: 1 }), 'INVALID_NAME', `casRunState of run id ${show(bad)}`)
          await expectCode(s.getRunState(bad), 'INVALID_NAME', `getRunState of run id ${show(bad)}`)
        }
        for (const version of [-1, 1.5, Number.NaN, '0', null])
          await expectCode(s.casRunState('r4', version as never, { n: 1 }), 'INVALID_ARGUMENT', `casRunState version ${show(version)}`)
        const cycle: Record<string, unknown> = {}
        cycle.self = cycle
        const docs: Array<[string, unknown]> = [
          ['undefined', undefined],
          ['a function', () => 1],
          ['{ n: 1n }', { n: 1n }],
          ['a cyclic object', cycle],
        ]
        for (const [what, doc] of docs)
          await expectCode(s.casRunState('r4', 0, doc), 'INVALID_ARGUMENT', `casRunState of the document ${what}`)
        for (const opts of [null, 'finished'])
          await expectCode(s.casRunState('r4', 0, { n: 1 }, opts as never), 'INVALID_ARGUMENT', `casRunState options ${show(opts)}`)
        expect(await s.getRunState('r4')).toBeNull()
        expect(await s.casRunState('r4', 0, { n: 1 })).toEqual({ ok: true, version: 1 })
      }),
    )

    it(
      '50 concurrent writers on one version: exactly one wins',
      withStore(async (s) => {
        await s.casRunState('race', 0, { w: -1 })
        const res = await Promise.all(Array.from({ length: 50 }, (_, i) => s.casRunState('race', 1, { w: i })))
        expect(res.filter((r) => r.ok)).toHaveLength(1)
        const winner = res.findIndex((r) => r.ok)
        expect((await s.getRunState('race'))?.doc).toEqual({ w: winner })
      }),
    )

    it(
      'lookups: the first value wins; unknown is null',
      withStore(async (s) => {
        expect(await s.getLookup('trigger', 't1')).toBeNull()
        expect(await s.putLookup('trigger', 't1', 'run-a', 60_000)).toBe('run-a')
        expect(await s.putLookup('trigger', 't1', 'run-b', 60_000)).toBe('run-a')
        expect(await s.getLookup('trigger', 't1')).toBe('run-a')
        expect(await s.getLookup('start', 't1')).toBeNull()
        // a lifetime that is no time above 0 is refused, and sets nothing
        for (const ttl of [0, -5, Number.NaN, Number.POSITIVE_INFINITY, '60000'])
          await expectCode(s.putLookup('trigger', 't2', 'run-a', ttl as never), 'INVALID_ARGUMENT', `putLookup ttlMs ${show(ttl)}`)
        expect(await s.getLookup('trigger', 't2')).toBeNull()
      }),
    )

    it(
      'lookups refuse a namespace that is none and a key that is empty or holds a lone surrogate (INVALID_ARGUMENT), writing nothing',
      withStore(async (s) => {
        for (const ns of ['x{y}:z', '', 'START'])
          await expectCode(s.putLookup(ns as 'start', 'order/k', 'run-a'), 'INVALID_ARGUMENT', `putLookup in namespace ${show(ns)}`)
        for (const key of ['', 'order/k\uD800', '\uDC00'])
          for (const [call, p] of [
            ['putLookup', () => s.putLookup('start', key, 'run-a')],
            ['getLookup', () => s.getLookup('start', key)],
          ] as const)
            await expectCode(p(), 'INVALID_ARGUMENT', `${call} of key ${show(key)}`)
        // two keys that differ only in a surrogate pair stay apart
        expect(await s.putLookup('start', 'order/k\uD83D\uDE00', 'run-a')).toBe('run-a')
        expect(await s.putLookup('start', 'order/k\uD83D\uDE01', 'run-b')).toBe('run-b')
      }),
    )

    it(
      'lookups expire after their ttlMs (a trigger or start key is not kept for ever)',
      withStore(async (s) => {
        expect(await s.putLookup('trigger', 'order/short', 'run-a', 300)).toBe('run-a')
        expect(await s.putLookup('trigger', 'order/long', 'run-b', 60_000)).toBe('run-b')
        expect(await s.getLookup('trigger', 'order/short')).toBe('run-a')
        await eventually(async () => (await s.getLookup('trigger', 'order/short')) === null, 3_000, 'the lookup of ttlMs 300 expired')
        // gone: the key is free for a new value; the longer one is still there
        expect(await s.putLookup('trigger', 'order/short', 'run-c', 60_000)).toBe('run-c')
        expect(await s.getLookup('trigger', 'order/long')).toBe('run-b')
      }),
    )

    it('retireLookup (when implemented): the value stays readable while the run is kept; an absent lookup stays absent', (ctx) =>
      withStore(async (s) => {
        if (typeof s.retireLookup !== 'function') return ctx.skip('this store has no retireLookup (optional)')
        await s.putLookup('start', 'order/k1', 'run-a', 60_000)
        await s.retireLookup('start', 'order/k1')
        expect(await s.getLookup('start', 'order/k1')).toBe('run-a')
        expect(await s.putLookup('start', 'order/k1', 'run-b', 60_000)).toBe('run-a')
        await s.retireLookup('start', 'order/none')
        expect(await s.getLookup('start', 'order/none')).toBeNull()
        expect(await s.putLookup('start', 'order/none', 'run-c', 60_000)).toBe('run-c')
      })())

    it(
      'external events: a global sequence over kinds, read after a position, idempotent by key (the first record answered, its kind included)',
      withStore(async (s) => {
        const p0 = await s.externalPosition()
        const a = await s.publishExternal('pay.ok', { n: 1 })
        const b = await s.publishExternal('pay.other', { n: 2 })
        const c = await s.publishExternal('pay.ok', { n: 3 }, { idempotencyKey: 'k' })
        const c2 = await s.publishExternal('pay.ok', { n: 4 }, { idempotencyKey: 'k' })
        expect([a.seq, b.seq, c.seq]).toEqual([p0 + 1, p0 + 2, p0 + 3])
        expect(c2).toEqual(c)
        // keys are across kinds: the key of a pay.ok event answers that event, of its own kind, nothing stored
        expect(await s.publishExternal('pay.other', { n: 5 }, { idempotencyKey: 'k' })).toEqual(c)
        expect(await s.externalPosition()).toBe(p0 + 3)
        expect(a).toMatchObject({ kind: 'pay.ok', data: { n: 1 } })
        expect(a.id).toMatch(/^\d+-\d+$/)
        expect(Number.isNaN(Date.parse(a.ts))).toBe(false)
        expect((await s.readExternal('pay.ok', p0)).map((e) => e.data)).toEqual([{ n: 1 }, { n: 3 }])
        expect((await s.readExternal('pay.ok', a.seq)).map((e) => e.seq)).toEqual([c.seq])
        expect(await s.readExternal('pay.none', 0)).toEqual([])
      }),
    )

    it(
      'external events: a kind that breaks the name rule (INVALID_NAME), data JSON cannot hold and a bad idempotency key (INVALID_ARGUMENT) are refused, storing nothing; undefined data is stored as null',
      withStore(async (s) => {
        const p0 = await s.externalPosition()
        for (const kind of ['a b', 'a:b', '', '__proto__'])
          await expectCode(s.publishExternal(kind, { n: 1 }), 'INVALID_NAME', `publishExternal of kind ${show(kind)}`)
        const cycle: Record<string, unknown> = {}
        cycle.self = cycle
        for (const [what, data] of [
          ['1n', 1n],
          ['a cyclic object', cycle],
        ] as const)
          await expectCode(s.publishExternal('pay.bad', data), 'INVALID_ARGUMENT', `publishExternal of the data ${what}`)
        // an idempotency key a store cannot keep apart from another (a lone surrogate), or of no length
        for (const key of ['k\uD800', '', 'k'.repeat(513)])
          await expectCode(
            s.publishExternal('pay.bad', { n: 1 }, { idempotencyKey: key }),
            'INVALID_ARGUMENT',
            `publishExternal key ${show(key)}`,
          )
        expect(await s.externalPosition()).toBe(p0)
        // reads and watches are checked the same way on every store
        await expectCode(s.readExternal('a*', 0), 'INVALID_NAME', 'readExternal of kind "a*"')
        for (const pos of [Number.NaN, -1, 1.5, 1e20, '3'])
          await expectCode(s.readExternal('pay.ok', pos as number), 'INVALID_ARGUMENT', `readExternal after ${show(pos)}`)
        await expectCode(s.watchKind('a b', 'run-1'), 'INVALID_NAME', 'watchKind of kind "a b"')
        await expectCode(s.watchKind('pay.ok', 'a b'), 'INVALID_NAME', 'watchKind of run "a b"')
        await expectCode(s.unwatchKind('pay.ok', 'a{b}'), 'INVALID_NAME', 'unwatchKind of run "a{b}"')
        const none = await s.publishExternal('pay.none', undefined)
        expect(none).toMatchObject({ kind: 'pay.none', data: null })
        expect((await s.readExternal('pay.none', p0)).map((e) => e.data)).toEqual([null])
      }),
    )

    it(
      'watchers per kind',
      withStore(async (s) => {
        await s.watchKind('k.a', 'r1')
        await s.watchKind('k.a', 'r2')
        await s.watchKind('k.a', 'r1')
        expect((await s.kindWatchers('k.a')).sort()).toEqual(['r1', 'r2'])
        await s.unwatchKind('k.a', 'r1')
        expect(await s.kindWatchers('k.a')).toEqual(['r2'])
        expect(await s.kindWatchers('k.b')).toEqual([])
      }),
    )

    it(
      'now() is the store clock in ms',
      withStore(async (s) => {
        const t = await s.now()
        expect(Number.isInteger(t)).toBe(true)
        expect(Math.abs(t - Date.now())).toBeLessThan(60_000)
      }),
    )

    createRunConformance(withStore)
    outboxConformance(withStore)
  })
}
