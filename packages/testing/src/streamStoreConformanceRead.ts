import type { EventRecord, StreamStore } from '@leanflow/core'
import { compareEventIds, isLeanflowError } from '@leanflow/core'
import fc from 'fast-check'
import { expect } from 'vitest'
import { describe, it } from './internal/kitTest.js'
import { describeIdEdgesConformance } from './streamStoreConformanceIds.js'
import {
  type ConformanceContext,
  collect,
  ev,
  eventually,
  expectCode,
  show,
  sleep,
  uniqueName,
  within,
} from './streamStoreConformanceKit.js'

/** StreamStore conformance: read and follow. Registered by `describeStreamStoreConformance`. */
export function describeReadFollowConformance(t: ConformanceContext): void {
  describe('read', () => {
    it('pages forward and backward with exclusive after/before and limit', async () => {
      const s = await t.store()
      const run = uniqueName()
      const ids: string[] = []
      for (let i = 0; i < 10; i++) ids.push((await s.append(run, ev(run, 'e', i))).id)
      const data = async (o: Parameters<StreamStore['read']>[1]) => (await s.read(run, o)).map((e) => e.data)
      expect(await data({})).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
      expect(await data({ direction: 'backward' })).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1, 0])
      expect(await data({ limit: 3 })).toEqual([0, 1, 2])
      expect(await data({ limit: 3, direction: 'backward' })).toEqual([9, 8, 7])
      expect(await data({ after: ids[2] })).toEqual([3, 4, 5, 6, 7, 8, 9])
      expect(await data({ before: ids[2] })).toEqual([0, 1])
      expect(await data({ after: ids[2], before: ids[6] })).toEqual([3, 4, 5])
      expect(await data({ after: ids[2], before: ids[6], direction: 'backward' })).toEqual([5, 4, 3])
      expect(await data({ before: ids[6], limit: 2, direction: 'backward' })).toEqual([5, 4])
      expect(await data({ after: ids[9] })).toEqual([])
      expect(await data({ after: ids[4], before: ids[5] })).toEqual([])
    })

    it('pages through 2,500 events in pages of 1000, all of them, in order', async () => {
      const s = await t.store()
      const run = uniqueName()
      await Promise.all(Array.from({ length: 2500 }, (_, i) => s.append(run, ev(run, 'e', i))))
      const firstPage = await s.read(run)
      expect(firstPage.length).toBe(1000) // the default limit
      const all: EventRecord[] = []
      let after: string | undefined
      for (;;) {
        const page = await s.read(run, { after, limit: 1000 })
        all.push(...page)
        if (page.length < 1000) break
        after = page[page.length - 1]!.id
      }
      expect(all.length).toBe(2500)
      for (let i = 1; i < all.length; i++) expect(compareEventIds(all[i - 1]!.id, all[i]!.id)).toBeLessThan(0)
      expect(new Set(all.map((e) => e.data)).size).toBe(2500)
      const back: EventRecord[] = []
      let before: string | undefined
      for (;;) {
        const page = await s.read(run, { before, limit: 1000, direction: 'backward' })
        back.push(...page)
        if (page.length < 1000) break
        before = page[page.length - 1]!.id
      }
      expect(back.map((e) => e.id)).toEqual(all.map((e) => e.id).reverse())
    })

    it('refuses a limit below 1 and an unknown direction with INVALID_ARGUMENT', async () => {
      const s = await t.store()
      const run = uniqueName()
      for (const limit of [0, -1, 1.5, Number.NaN])
        await expectCode(s.read(run, { limit }), 'INVALID_ARGUMENT', `read limit ${show(limit)}`)
      await expectCode(s.read(run, { direction: 'up' as never }), 'INVALID_ARGUMENT', "read direction 'up'")
      await expectCode(s.read(run, { direction: null as never }), 'INVALID_ARGUMENT', 'read direction null')
    })

    it('refuses options that are no object (null, a string, an array) with INVALID_ARGUMENT in read, follow, listRuns and append; nothing is written', async () => {
      const s = await t.store()
      const run = uniqueName()
      const flow = uniqueName('flow')
      await s.append(run, { kind: 'flow.started', flow: run, data: { name: flow, input: null, steps: {} } })
      const firstOf = async (iter: AsyncIterable<EventRecord>) => {
        for await (const e of iter) return e
        return undefined
      }
      for (const bad of [null, 'x', [1]] as never[]) {
        const what = JSON.stringify(bad)
        const err = await expectCode(s.read(run, bad), 'INVALID_ARGUMENT', `read options ${what}`)
        expect((err as Error).message, what).toMatch(/read options/)
        await expectCode((async () => firstOf(s.follow(run, bad)))(), 'INVALID_ARGUMENT', `follow options ${what}`)
        await expectCode(s.listRuns(flow, bad), 'INVALID_ARGUMENT', `listRuns options ${what}`)
        await expectCode(s.append(run, ev(run, 'e', 1), bad), 'INVALID_ARGUMENT', `append options ${what}`)
      }
      expect((await s.read(run)).map((e) => e.kind)).toEqual(['flow.started'])
    })

    it('refuses an option key the call does not take (a misspelt idempotencyKe, from, form, statuss) with INVALID_ARGUMENT naming it, in read, follow, listRuns and append; nothing is written', async () => {
      const s = await t.store()
      const run = uniqueName()
      const flow = uniqueName('flow')
      await s.append(run, { kind: 'flow.started', flow: run, data: { name: flow, input: null, steps: {} } })
      const firstOf = async (iter: AsyncIterable<EventRecord>) => {
        for await (const e of iter) return e
        return undefined
      }
      // a misspelt key dropped silently would store the event without the idempotency it asked for
      const cases: Array<[name: string, opts: Record<string, unknown>, key: string, call: (opts: never) => Promise<unknown>]> = [
        ['append', { idempotencyKe: 'k' }, 'idempotencyKe', (opts) => s.append(run, ev(run, 'e', 1), opts)],
        ['append', { idempotencyKey: 'k', fenc: { key: 'a', token: 't' } }, 'fenc', (opts) => s.append(run, ev(run, 'e', 1), opts)],
        ['read', { from: '1-0' }, 'from', (opts) => s.read(run, opts)],
        // refused at the call or at the first next(), as the store likes
        ['follow', { form: '1-0' }, 'form', (opts) => (async () => firstOf(s.follow(run, opts)))()],
        ['listRuns', { statuss: 'x' }, 'statuss', (opts) => s.listRuns(flow, opts)],
      ]
      for (const [name, opts, key, call] of cases) {
        const what = `${name} with the unknown option key ${key} (${JSON.stringify(opts)})`
        const err = await expectCode(call(opts as never), 'INVALID_ARGUMENT', what)
        expect((err as Error).message, `${what}: the message names the key`).toContain(key)
      }
      expect((await s.read(run)).map((e) => e.kind)).toEqual(['flow.started'])
      // the key was not stored either: an append with it now is a first append
      expect((await s.append(run, ev(run, 'e', 2), { idempotencyKey: 'k' })).data).toBe(2)
    })

    it('returns [] for an unknown run', async () => {
      const s = await t.store()
      expect(await s.read(uniqueName())).toEqual([])
      expect(await s.read(uniqueName(), { direction: 'backward', after: '1-0' })).toEqual([])
    })
  })

  describeIdEdgesConformance(t)

  describe('follow', () => {
    it('yields existing then live events in id order, no gap, no duplicate', async () => {
      const s = await t.store()
      const run = uniqueName()
      for (let i = 0; i < 5; i++) await s.append(run, ev(run, 'e', i))
      const got = collect(s.follow(run), 25)
      for (let i = 5; i < 15; i++) await s.append(run, ev(run, 'e', i))
      await Promise.all(Array.from({ length: 10 }, (_, i) => s.append(run, ev(run, 'e', 15 + i))))
      const events = await within(got, 10_000, 'follow')
      const stored = await s.read(run)
      expect(events.map((e) => e.id)).toEqual(stored.map((e) => e.id))
      expect(events).toEqual(stored)
    })

    it('starts after an exclusive `after`', async () => {
      const s = await t.store()
      const run = uniqueName()
      const ids: string[] = []
      for (let i = 0; i < 6; i++) ids.push((await s.append(run, ev(run, 'e', i))).id)
      const got = collect(s.follow(run, { after: ids[3] }), 4)
      ids.push((await s.append(run, ev(run, 'e', 6))).id, (await s.append(run, ev(run, 'e', 7))).id)
      expect((await within(got, 10_000, 'follow')).map((e) => e.data)).toEqual([4, 5, 6, 7])
    })

    it('follows a run that does not exist yet from its first event', async () => {
      const s = await t.store()
      const run = uniqueName()
      const got = collect(s.follow(run), 3)
      await sleep(20)
      for (let i = 0; i < 3; i++) await s.append(run, ev(run, 'e', i))
      expect((await within(got, 10_000, 'follow')).map((e) => e.data)).toEqual([0, 1, 2])
    })

    it('follows a run that does not exist yet from 0-0 (a consumer resuming at lastSeen ?? 0-0): nothing is gone before the first event', async () => {
      const s = await t.store()
      const run = uniqueName()
      const got = collect(s.follow(run, { after: '0-0' }), 2)
      await sleep(300) // the follow has looked at the run (and found nothing) by now
      for (let i = 0; i < 2; i++) await s.append(run, ev(run, 'e', i))
      expect((await within(got, 10_000, 'follow after 0-0')).map((e) => e.data)).toEqual([0, 1])
    })

    it('ends without throwing when its signal aborts, and releases it', async () => {
      const s = await t.store()
      const run = uniqueName()
      await s.append(run, ev(run, 'e', 0))
      const ac = new AbortController()
      const seen: unknown[] = []
      const done = (async () => {
        for await (const e of s.follow(run, { signal: ac.signal })) seen.push(e.data)
        return 'returned'
      })()
      await eventually(async () => seen.length === 1, 5000, 'first event')
      ac.abort()
      expect(await within(done, 5000, 'aborted follow')).toBe('returned')
      await s.append(run, ev(run, 'e', 1))
      expect(seen).toEqual([0])
      // an already-aborted signal yields nothing
      const none: unknown[] = []
      for await (const e of s.follow(run, { signal: ac.signal })) none.push(e)
      expect(none).toEqual([])
      // the run still works for new followers
      expect((await within(collect(s.follow(run), 2), 5000, 'follow')).map((e) => e.data)).toEqual([0, 1])
    })

    it('refuses a signal that is no AbortSignal with INVALID_ARGUMENT, and the store still closes', async () => {
      const s = await t.open() // its own store: closed here
      const run = uniqueName()
      await s.append(run, ev(run, 'e', 0))
      for (const bad of [5, 'abort', {}, { aborted: false }] as never[]) {
        const err = await expectCode(
          (async () => {
            for await (const e of s.follow(run, { signal: bad })) return e
            return undefined
          })(),
          'INVALID_ARGUMENT',
          `follow signal ${show(bad)}`,
        )
        expect((err as Error).message, JSON.stringify(bad)).toMatch(/signal/)
      }
      t.forget(s)
      await within(s.close(), 5000, 'close after refused follows')
    })

    it('ends when the caller breaks, while waiting for live events too', async () => {
      const s = await t.store()
      const run = uniqueName()
      await s.append(run, ev(run, 'e', 0))
      const it1 = s.follow(run)[Symbol.asyncIterator]()
      expect((await it1.next()).value?.data).toBe(0)
      const pending = it1.next()
      await sleep(20)
      // return() while a next() waits for a live event: both settle
      const ret = it1.return?.()
      const [p, r] = await within(Promise.all([pending, ret]), 5000, 'return while waiting')
      expect(p.done).toBe(true)
      expect(r?.done).toBe(true)
      await s.append(run, ev(run, 'e', 1))
      expect((await it1.next()).done).toBe(true)
      const again = await within(collect(s.follow(run), 2), 5000, 'follow')
      expect(again.map((e) => e.data)).toEqual([0, 1])
    })

    it('gives every event to two concurrent followers', async () => {
      const s = await t.store()
      const run = uniqueName()
      await s.append(run, ev(run, 'e', 0))
      const f1 = collect(s.follow(run), 30)
      const f2 = collect(s.follow(run), 30)
      await Promise.all(Array.from({ length: 29 }, (_, i) => s.append(run, ev(run, 'e', i + 1))))
      const [a, b] = await within(Promise.all([f1, f2]), 10_000, 'two followers')
      const stored = (await s.read(run)).map((e) => e.id)
      expect(a.map((e) => e.id)).toEqual(stored)
      expect(b.map((e) => e.id)).toEqual(stored)
    })

    it('yields exactly the events after its start point under any interleaving of appends and start (property)', async () => {
      const s = await t.store()
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 0, max: 8 }),
          fc.integer({ min: 1, max: 12 }),
          fc.integer({ min: -1, max: 7 }),
          fc.scheduler(),
          async (pre, live, startAt, sch) => {
            const run = uniqueName()
            const preIds: string[] = []
            for (let i = 0; i < pre; i++) preIds.push((await s.append(run, ev(run, 'pre', i))).id)
            const after = startAt >= 0 && startAt < pre ? preIds[startAt] : undefined
            const expectedCount = (after === undefined ? pre : pre - startAt - 1) + live
            const appends = Array.from({ length: live }, (_, i) =>
              sch.schedule(Promise.resolve(i), `append ${i}`).then((n) => s.append(run, ev(run, 'live', n))),
            )
            const ac = new AbortController()
            const follower = sch
              .schedule(Promise.resolve(), 'follower start')
              .then(() => collect(s.follow(run, { after, signal: ac.signal }), expectedCount))
            await sch.waitIdle()
            const appended = await Promise.all(appends)
            const got = await within(follower, 10_000, 'property follower').finally(() => ac.abort())
            const all = [...preIds, ...appended.map((e) => e.id)].sort(compareEventIds)
            const expected = after === undefined ? all : all.filter((id) => compareEventIds(id, after) > 0)
            expect(got.map((e) => e.id)).toEqual(expected)
          },
        ),
        { numRuns: 15 },
      )
    })

    it('throws HISTORY_GONE when `after` names a run retention removed', async () => {
      const s = await t.open({ retention: 300 })
      const run = uniqueName('f')
      await s.append(run, { kind: 'flow.started', flow: run, data: { name: uniqueName('flow'), input: null, steps: {} } })
      const done = await s.append(run, { kind: 'flow.completed', flow: run, data: { duration: 1 } })
      await eventually(async () => (await s.read(run)).length === 0, 5000, 'run expired')
      const err = await (async () => {
        for await (const _ of s.follow(run, { after: done.id })) return 'yielded'
        return 'ended'
      })().then(
        (v) => v,
        (e: unknown) => e,
      )
      expect(isLeanflowError(err, 'HISTORY_GONE')).toBe(true)
    })
  })
}
