import type { ScheduleStore } from '@leanflow/core'
import { describe, expect } from 'vitest'
import { codeOf } from './internal/errorCode.js'
import { storeTest } from './internal/storeTest.js'

/** A store under test: the ScheduleStore port, closed after each test when it can be. */
export type ScheduleTestStore = ScheduleStore & { close?(): Promise<void> }

/** What the suite asks of an implementation. */
export interface ScheduleStoreFactory {
  /** A fresh, empty store (its own key prefix on a shared server). */
  store(): Promise<ScheduleTestStore>
  /** The largest document the store takes, in UTF-8 bytes of its JSON: checked when given. */
  maxDocBytes?: number
  /**
   * Titles of cases this store is known to fail: they run as `it.fails`, so the day the store
   * is fixed the case turns red and its entry here can go.
   */
  knownGaps?: readonly string[]
}

/** Nothing stored under any id: no record, no listing, nothing due or coming due. */
async function expectEmpty(s: ScheduleStore): Promise<void> {
  expect(await s.listSchedules()).toEqual([])
  expect(await s.dueSchedules(Number.MAX_SAFE_INTEGER, 100)).toEqual({ due: [], next: null })
}

/**
 * The ScheduleStore contract (core's `scheduleStore.ts`), run against every implementation:
 * compare-and-set of a document with its due time, listing, the due index, refusals before
 * anything is written, and races.
 *
 * @example
 * ```ts
 * describeScheduleStoreConformance('memory', { store: async () => createMemoryStreamStore() })
 * ```
 */
export function describeScheduleStoreConformance(label: string, factory: ScheduleStoreFactory): void {
  const test = storeTest<ScheduleStore>(factory)

  describe(`ScheduleStore conformance: ${label}`, () => {
    test('compare-and-set: created at version 0 → 1, then written only at the current version', async (s) => {
      expect(await s.getSchedule('nightly')).toBeNull()
      expect(await s.casSchedule('nightly', 0, { cron: '0 3 * * *' }, 1000)).toEqual({ ok: true, version: 1 })
      expect(await s.getSchedule('nightly')).toEqual({ id: 'nightly', version: 1, doc: { cron: '0 3 * * *' }, nextRunAt: 1000 })
      expect(await s.casSchedule('nightly', 1, { cron: '0 4 * * *' }, 2000)).toEqual({ ok: true, version: 2 })
      expect(await s.getSchedule('nightly')).toEqual({ id: 'nightly', version: 2, doc: { cron: '0 4 * * *' }, nextRunAt: 2000 })
    })

    test('a conflict writes nothing and returns the current record (null when absent)', async (s) => {
      await s.casSchedule('a', 0, { n: 1 }, 5)
      const current = { id: 'a', version: 1, doc: { n: 1 }, nextRunAt: 5 }
      expect(await s.casSchedule('a', 0, { n: 2 }, 6)).toEqual({ ok: false, current })
      expect(await s.casSchedule('a', 2, { n: 3 }, null)).toEqual({ ok: false, current })
      expect(await s.casSchedule('a', 1, null, null)).toEqual({ ok: true, version: 0 })
      expect(await s.casSchedule('a', 1, { n: 4 }, 7)).toEqual({ ok: false, current: null })
      expect(await s.casSchedule('b', 3, null, null)).toEqual({ ok: false, current: null })
      await expectEmpty(s)
    })

    test('delete: the record and its due entry go; deleting what is absent, at version 0, succeeds', async (s) => {
      await s.casSchedule('d', 0, { n: 1 }, 10)
      await s.casSchedule('d', 1, { n: 2 }, 20)
      expect(await s.casSchedule('d', 2, null, 20)).toEqual({ ok: true, version: 0 })
      expect(await s.getSchedule('d')).toBeNull()
      await expectEmpty(s)
      expect(await s.casSchedule('d', 0, null, null)).toEqual({ ok: true, version: 0 })
      await expectEmpty(s)
    })

    test('delete then set: the new version is greater than any version the id had', async (s) => {
      // a writer that read version 2 of the deleted schedule must not write over the new one
      await s.casSchedule('d', 0, { n: 1 }, 10)
      await s.casSchedule('d', 1, { n: 2 }, 20)
      await s.casSchedule('d', 2, null, null)
      const created = await s.casSchedule('d', 0, { n: 3 }, 30)
      expect(created.ok).toBe(true)
      const v = (created as { version: number }).version
      expect(v).toBeGreaterThan(2)
      expect(await s.getSchedule('d')).toEqual({ id: 'd', version: v, doc: { n: 3 }, nextRunAt: 30 })
      expect(await s.casSchedule('d', 1, { n: 'stale' }, 1)).toEqual({ ok: false, current: await s.getSchedule('d') })
      // a second write takes it to v + 1 (the old v + 1 of the deleted one is taken: still refused)
      expect(await s.casSchedule('d', v, { n: 4 }, 40)).toEqual({ ok: true, version: v + 1 })
      expect((await s.casSchedule('d', 2, { n: 'stale' }, 1)).ok).toBe(false)
      // and again after another delete and set, whatever the version it reached
      await s.casSchedule('d', v + 1, null, null)
      const again = await s.casSchedule('d', 0, { n: 5 }, null)
      expect((again as { version: number }).version).toBeGreaterThan(v + 1)
      expect((await s.getSchedule('d'))?.doc).toEqual({ n: 5 })
    })

    test('any JSON document round-trips, an own "__proto__" key as a key', async (s) => {
      const docs: unknown[] = [0, false, '', 'ünï ✓', 'a|1|{"b"}', [1, null, 'b'], { a: { b: [{}] }, 'c|d': '|' }, 1.5e300]
      for (const [i, doc] of docs.entries()) {
        expect(await s.casSchedule(`j${i}`, 0, doc, null)).toEqual({ ok: true, version: 1 })
        expect((await s.getSchedule(`j${i}`))?.doc).toEqual(doc)
      }
      const json = '{"__proto__":{"polluted":"yes"},"nested":{"__proto__":{"polluted":1}}}'
      await s.casSchedule('proto', 0, JSON.parse(json), null)
      const back = (await s.getSchedule<Record<string, unknown>>('proto'))!.doc
      expect(Object.hasOwn(back, '__proto__')).toBe(true)
      expect(JSON.stringify(back)).toBe(json)
      expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    })

    test('listSchedules: every schedule by id, paused ones too', async (s) => {
      expect(await s.listSchedules()).toEqual([])
      for (const id of ['b', 'a.2', 'C', 'a', 'a-1', '9']) await s.casSchedule(id, 0, { id }, id === 'a' ? null : 100)
      const list = await s.listSchedules<{ id: string }>()
      expect(list.map((r) => r.id)).toEqual(['9', 'C', 'a', 'a-1', 'a.2', 'b'])
      expect(list.find((r) => r.id === 'a')).toEqual({ id: 'a', version: 1, doc: { id: 'a' }, nextRunAt: null })
      for (const r of list) expect(r.doc.id).toBe(r.id)
    })

    test('dueSchedules: due ids earliest first, ties by id, at most limit; next is the first later time', async (s) => {
      // written out of order, 'c' before 'a' at the same time
      for (const [id, at] of Object.entries({ c: 100, d: 200, a: 100, b: 50, e: 1_893_466_800_123 })) await s.casSchedule(id, 0, {}, at)
      expect(await s.dueSchedules(49, 10)).toEqual({ due: [], next: 50 })
      expect(await s.dueSchedules(100, 10)).toEqual({ due: ['b', 'a', 'c'], next: 200 })
      expect(await s.dueSchedules(100, 2)).toEqual({ due: ['b', 'a'], next: 200 })
      expect(await s.dueSchedules(100, 1)).toEqual({ due: ['b'], next: 200 })
      expect(await s.dueSchedules(199.5, 10)).toEqual({ due: ['b', 'a', 'c'], next: 200 })
      expect(await s.dueSchedules(1000, 10)).toEqual({ due: ['b', 'a', 'c', 'd'], next: 1_893_466_800_123 })
      expect(await s.dueSchedules(2e12, 10)).toEqual({ due: ['b', 'a', 'c', 'd', 'e'], next: null })
      expect(await s.dueSchedules(-1, 10)).toEqual({ due: [], next: 50 })
      // paging past the first due ids (a runner skipping those it cannot fire)
      expect(await s.dueSchedules(100, 2, 1)).toEqual({ due: ['a', 'c'], next: 200 })
      expect(await s.dueSchedules(100, 10, 3)).toEqual({ due: [], next: 200 })
      await expect(s.dueSchedules(100, 10, -1)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
      await expect(s.dueSchedules(100, 10, 1.5)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    })

    test('nextRunAt keeps its exact value: fractions, negatives, large times', async (s) => {
      const times = [0.1, -5, 1e21, 1_893_466_800_123.25]
      for (const [i, at] of times.entries()) await s.casSchedule(`t${i}`, 0, {}, at)
      for (const [i, at] of times.entries()) expect((await s.getSchedule(`t${i}`))?.nextRunAt).toBe(at)
      expect(await s.dueSchedules(-10, 10)).toEqual({ due: [], next: -5 })
      expect(await s.dueSchedules(0, 10)).toEqual({ due: ['t1'], next: 0.1 })
      expect(await s.dueSchedules(1, 10)).toEqual({ due: ['t1', 't0'], next: 1_893_466_800_123.25 })
      expect(await s.dueSchedules(1_893_466_800_123.25, 10)).toEqual({ due: ['t1', 't0', 't3'], next: 1e21 })
    })

    test('dueSchedules: a paused schedule (nextRunAt null) is never due; a moved one moves; a deleted one leaves', async (s) => {
      await s.casSchedule('p', 0, { paused: true }, null)
      await s.casSchedule('m', 0, {}, 100)
      await s.casSchedule('x', 0, {}, 150)
      expect(await s.dueSchedules(Number.MAX_SAFE_INTEGER, 10)).toEqual({ due: ['m', 'x'], next: null })
      // moved later: out of the due ids, now the next time
      await s.casSchedule('m', 1, {}, 300)
      expect(await s.dueSchedules(200, 10)).toEqual({ due: ['x'], next: 300 })
      // paused: out of the index; resumed: back in
      await s.casSchedule('m', 2, {}, null)
      expect(await s.dueSchedules(1000, 10)).toEqual({ due: ['x'], next: null })
      await s.casSchedule('m', 3, {}, 120)
      expect(await s.dueSchedules(1000, 10)).toEqual({ due: ['m', 'x'], next: null })
      // a pause of something due, then its deletion
      await s.casSchedule('x', 1, {}, null)
      expect(await s.dueSchedules(1000, 10)).toEqual({ due: ['m'], next: null })
      expect(await s.casSchedule('m', 4, null, null)).toEqual({ ok: true, version: 0 })
      expect(await s.dueSchedules(1000, 10)).toEqual({ due: [], next: null })
      expect((await s.listSchedules()).map((r) => r.id)).toEqual(['p', 'x'])
    })

    test('dueSchedules refuses a limit that is not a whole number above 0', async (s) => {
      for (const limit of [0, -1, 1.5, Number.NaN]) expect(await codeOf(() => s.dueSchedules(100, limit))).toBe('INVALID_ARGUMENT')
    })

    test('ids follow the name rule: hostile ones are INVALID_NAME and write nothing', async (s) => {
      const bad: unknown[] = ['a:b', '', 'x'.repeat(129), '__proto__', '{tag}', 'a b', 'a*', '-a', 'a\nb', 5, null]
      for (const id of bad) {
        expect(await codeOf(() => s.casSchedule(id as string, 0, { n: 1 }, 100))).toBe('INVALID_NAME')
        expect(await codeOf(() => s.getSchedule(id as string))).toBe('INVALID_NAME')
      }
      await expectEmpty(s)
    })

    test('valid names that are Object.prototype members work as plain own ids', async (s) => {
      const ids = ['constructor', 'hasOwnProperty', 'toString', 'valueOf', 'x'.repeat(128)]
      for (const id of ids) expect(await s.getSchedule(id)).toBeNull()
      for (const id of ids) expect(await s.casSchedule(id, 0, { id }, 7)).toEqual({ ok: true, version: 1 })
      for (const id of ids) expect(await s.getSchedule(id)).toEqual({ id, version: 1, doc: { id }, nextRunAt: 7 })
      expect((await s.listSchedules()).map((r) => r.id)).toEqual([...ids].sort())
      expect((await s.dueSchedules(7, 10)).due).toEqual([...ids].sort())
    })

    test('a bad version or nextRunAt is INVALID_ARGUMENT and writes nothing', async (s) => {
      for (const v of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '1', null]) {
        expect(await codeOf(() => s.casSchedule('v', v as number, { n: 1 }, 100))).toBe('INVALID_ARGUMENT')
      }
      for (const at of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, '100', undefined]) {
        expect(await codeOf(() => s.casSchedule('v', 0, { n: 1 }, at as number))).toBe('INVALID_ARGUMENT')
      }
      await expectEmpty(s)
    })

    test('a document that is not JSON is INVALID_ARGUMENT and writes nothing', async (s) => {
      const cyclic: Record<string, unknown> = { a: 1 }
      cyclic.self = cyclic
      await s.casSchedule('keep', 0, { n: 1 }, 100)
      for (const doc of [{ n: 1n }, 1n, cyclic, undefined, () => 1]) {
        expect(await codeOf(() => s.casSchedule('bad', 0, doc, 100))).toBe('INVALID_ARGUMENT')
        expect(await codeOf(() => s.casSchedule('keep', 1, doc, 50))).toBe('INVALID_ARGUMENT')
      }
      expect(await s.listSchedules()).toEqual([{ id: 'keep', version: 1, doc: { n: 1 }, nextRunAt: 100 }])
      expect(await s.dueSchedules(1000, 10)).toEqual({ due: ['keep'], next: null })
    })

    if (factory.maxDocBytes !== undefined) {
      const max = factory.maxDocBytes
      test(`a document over ${max} bytes of JSON is INVALID_ARGUMENT and writes nothing`, async (s) => {
        // '"' + n characters + '"': n + 2 bytes; 'é' is 2 bytes in UTF-8
        expect(await s.casSchedule('big', 0, 'x'.repeat(max - 2), 1)).toEqual({ ok: true, version: 1 })
        expect(await codeOf(() => s.casSchedule('big', 1, 'x'.repeat(max - 1), 1))).toBe('INVALID_ARGUMENT')
        expect(await codeOf(() => s.casSchedule('big2', 0, 'é'.repeat(max / 2), 1))).toBe('INVALID_ARGUMENT')
        expect((await s.listSchedules()).map((r) => [r.id, r.version])).toEqual([['big', 1]])
      })
    }

    test('100 concurrent writes at one expected version: exactly one wins, the others see it', async (s) => {
      const creates = await Promise.all(Array.from({ length: 100 }, (_, i) => s.casSchedule('race', 0, { w: i }, i)))
      expect(creates.filter((r) => r.ok)).toEqual([{ ok: true, version: 1 }])
      const first = creates.findIndex((r) => r.ok)
      const created = { id: 'race', version: 1, doc: { w: first }, nextRunAt: first }
      for (const r of creates) if (!r.ok) expect(r.current).toEqual(created)
      const updates = await Promise.all(Array.from({ length: 100 }, (_, i) => s.casSchedule('race', 1, { w: i }, 1000 + i)))
      expect(updates.filter((r) => r.ok)).toEqual([{ ok: true, version: 2 }])
      const winner = updates.findIndex((r) => r.ok)
      const stored = { id: 'race', version: 2, doc: { w: winner }, nextRunAt: 1000 + winner }
      expect(await s.getSchedule('race')).toEqual(stored)
      for (const r of updates) if (!r.ok) expect(r.current).toEqual(stored)
      expect(await s.dueSchedules(10_000, 10)).toEqual({ due: ['race'], next: null })
    })

    test('documents are copies: changing what was passed or returned changes nothing stored', async (s) => {
      const doc = { input: { tenant: 'acme' }, tags: ['a'] }
      await s.casSchedule('copy', 0, doc, 5)
      doc.input.tenant = 'evil'
      doc.tags.push('b')
      const got = (await s.getSchedule<typeof doc>('copy'))!
      expect(got.doc).toEqual({ input: { tenant: 'acme' }, tags: ['a'] })
      got.doc.input.tenant = 'changed'
      got.nextRunAt = 0
      const [listed] = await s.listSchedules<typeof doc>()
      listed!.doc.tags.push('c')
      const conflict = await s.casSchedule<typeof doc>('copy', 0, doc, 5)
      if (!conflict.ok) conflict.current!.doc.input.tenant = 'changed too'
      expect(await s.getSchedule('copy')).toEqual({ id: 'copy', version: 1, doc: { input: { tenant: 'acme' }, tags: ['a'] }, nextRunAt: 5 })
      expect(await s.dueSchedules(4, 10)).toEqual({ due: [], next: 5 })
    })

    test('onScheduleChange (optional): told after each write that changed something, never after a conflict; stopped, told nothing', async (s) => {
      if (typeof s.onScheduleChange !== 'function') return
      let told = 0
      const stop = s.onScheduleChange(() => {
        told++
      })
      await s.casSchedule('w', 0, { n: 1 }, 5)
      expect(told).toBe(1)
      await s.casSchedule('w', 0, { n: 2 }, 6) // a conflict: nothing written
      expect(told).toBe(1)
      await s.casSchedule('w', 1, null, null)
      expect(told).toBe(2)
      stop()
      await s.casSchedule('w', 0, { n: 3 }, 7)
      expect(told).toBe(2)
    })
  })
}
