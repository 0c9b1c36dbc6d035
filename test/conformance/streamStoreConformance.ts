import type { EventRecord, NewEvent, StreamStore } from '@leanflow/core'
import { compareEventIds, EventBus, isEventId, isLeanflowError } from '@leanflow/core'
import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'

/** What the suite asks of a store factory. */
export interface ConformanceStoreOptions {
  /** ms */
  retention?: number
  maxEventBytes?: number
  maxEventsPerRun?: number
  bus?: EventBus
}

export type ConformanceStoreFactory = (opts: ConformanceStoreOptions) => Promise<StreamStore>

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
/** A random valid name (run id or flow name), unique enough to share one server between tests. */
export function uniqueName(prefix = 'r'): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16))
  let s = prefix
  for (const b of bytes) s += ALPHABET[b % ALPHABET.length]
  return s
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Resolves with `p`, or rejects after `ms` naming `what` (a hang must fail the test, not time it out silently). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms)
  })
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer))
}

/** Waits until `fn()` is true, polling, up to `ms`. */
async function eventually(fn: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`${what}: still false after ${ms} ms`)
    await sleep(50)
  }
}

/** Waits until the wall clock has moved to a later millisecond (distinct start times for listRuns ordering). */
async function nextMillisecond(): Promise<void> {
  const t = Date.now()
  while (Date.now() <= t + 1) await sleep(2)
}

async function expectCode(p: Promise<unknown>, code: string): Promise<unknown> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err, `expected a rejection with code ${code}`).toBeDefined()
  expect(isLeanflowError(err), `expected a LeanflowError, got ${String(err)}`).toBe(true)
  expect((err as { code: string }).code).toBe(code)
  return err
}

async function collect(iter: AsyncIterable<EventRecord>, n: number, signal?: AbortSignal): Promise<EventRecord[]> {
  const out: EventRecord[] = []
  if (n === 0) return out
  for await (const e of iter) {
    out.push(e)
    if (out.length >= n || signal?.aborted) break
  }
  return out
}

const ev = (run: string, kind: string, data: unknown, step?: string): NewEvent =>
  step === undefined ? { kind, flow: run, data } : { kind, flow: run, step, data }

/**
 * The `StreamStore` contract as tests, run against every implementation
 * (`createMemoryStreamStore`, `createRedisStreamStore`). Tests create their
 * own stores with `makeStore`, use unique run ids and flow names (so one
 * server can serve all tests) and close every store they made.
 *
 * @example
 * ```ts
 * describeStreamStoreConformance('memory', async (opts) => createMemoryStreamStore(opts))
 * ```
 */
export function describeStreamStoreConformance(label: string, makeStore: ConformanceStoreFactory): void {
  describe(`StreamStore conformance: ${label}`, () => {
    const made: StreamStore[] = []
    let shared: StreamStore | undefined
    const open = async (opts: ConformanceStoreOptions = {}) => {
      const s = await makeStore(opts)
      made.push(s)
      return s
    }
    const store = async () => (shared ??= await open())

    afterAll(async () => {
      await Promise.all(made.map((s) => s.close()))
    })

    describe('append', () => {
      it('returns the record with id, ts, kind, flow, data and meta; ids increase within a run', async () => {
        const s = await store()
        const run = uniqueName()
        const a = await s.append(run, {
          kind: 'user.thing',
          flow: run,
          step: 'charge',
          data: { n: 1, nested: { x: [1, 'a', null] } },
          meta: { attempt: 2 },
        })
        expect(isEventId(a.id)).toBe(true)
        expect(a.kind).toBe('user.thing')
        expect(a.flow).toBe(run)
        expect(a.step).toBe('charge')
        expect(a.data).toEqual({ n: 1, nested: { x: [1, 'a', null] } })
        expect(a.meta).toEqual({ attempt: 2 })
        expect(new Date(a.ts).toISOString()).toBe(a.ts)
        const b = await s.append(run, { kind: 'log', flow: run, data: { level: 'info', msg: 'hi' } })
        expect('step' in b).toBe(false)
        expect(compareEventIds(a.id, b.id)).toBeLessThan(0)
        const ids = [b.id]
        for (let i = 0; i < 30; i++) ids.push((await s.append(run, ev(run, 'tick', i))).id)
        for (let i = 1; i < ids.length; i++) expect(compareEventIds(ids[i - 1]!, ids[i]!)).toBeLessThan(0)
        const read = await s.read(run)
        expect(read.map((e) => e.id)).toEqual([a.id, ...ids])
        expect(read[0]).toEqual(a)
        expect('step' in read[1]!).toBe(false)
      })

      it('returns data equal to what was passed, and stores JSON values of every type', async () => {
        const s = await store()
        const run = uniqueName()
        const values: unknown[] = [null, 0, -1.5, 'text', '', true, false, [], {}, [1, [2, [3]]], { a: { b: { c: 'd' } } }, 'ünïcødé ✓ 🚀']
        for (const v of values) expect((await s.append(run, ev(run, 'v', v))).data).toEqual(v)
        expect((await s.read(run)).map((e) => e.data)).toEqual(values)
      })

      it('stores a 1 MB payload and reads it back byte-exact (F15)', async () => {
        const s = await store()
        const run = uniqueName()
        // mostly plain text, with escapes and multi-byte characters sprinkled in (its JSON stays under the 1 MiB default)
        const chars = 'abcdefghijklmnopqrstuvwxyz0123456789 '
        let big = ''
        for (let i = 0; big.length < 1_000_000; i++) big += i % 997 === 0 ? '"\\\n\té✓' : chars[(i * 7919) % chars.length]
        big = big.slice(0, 1_000_000)
        const rec = await s.append(run, ev(run, 'big', { big }))
        expect((rec.data as { big: string }).big).toBe(big)
        const [back] = await s.read(run)
        expect((back!.data as { big: string }).big).toBe(big)
        const [followed] = await collect(s.follow(run), 1)
        expect((followed!.data as { big: string }).big).toBe(big)
      })

      it('refuses an event over maxEventBytes with PAYLOAD_TOO_LARGE and writes nothing', async () => {
        const s = await open({ maxEventBytes: 2000 })
        const run = uniqueName()
        await s.append(run, ev(run, 'small', { x: 'y'.repeat(100) }))
        const err = await expectCode(s.append(run, ev(run, 'big', { x: 'y'.repeat(5000) })), 'PAYLOAD_TOO_LARGE')
        expect((err as Error).name).toBe('PayloadTooLargeError')
        const fresh = uniqueName()
        await expectCode(s.append(fresh, ev(fresh, 'big', { x: 'y'.repeat(5000) })), 'PAYLOAD_TOO_LARGE')
        expect((await s.read(run)).map((e) => e.kind)).toEqual(['small'])
        expect(await s.read(fresh)).toEqual([])
      })

      it('refuses appends past maxEventsPerRun with RUN_TOO_LONG and writes nothing', async () => {
        const s = await open({ maxEventsPerRun: 5 })
        const run = uniqueName()
        for (let i = 0; i < 5; i++) await s.append(run, ev(run, 'e', i))
        await expectCode(s.append(run, ev(run, 'e', 5)), 'RUN_TOO_LONG')
        await expectCode(s.append(run, ev(run, 'e', 6)), 'RUN_TOO_LONG')
        expect((await s.read(run)).map((e) => e.data)).toEqual([0, 1, 2, 3, 4])
        // other runs are unaffected
        const otherRun = uniqueName()
        expect((await s.append(otherRun, ev(otherRun, 'e', 0))).data).toBe(0)
      })
    })

    describe('idempotency', () => {
      it('stores one event for a repeated key and returns the first record', async () => {
        const s = await store()
        const run = uniqueName()
        const first = await s.append(run, ev(run, 'pay', { n: 1 }), { idempotencyKey: 'k1' })
        const again = await s.append(run, ev(run, 'pay', { n: 2 }), { idempotencyKey: 'k1' })
        expect(again.id).toBe(first.id)
        expect(again.data).toEqual({ n: 1 })
        const other = await s.append(run, ev(run, 'pay', { n: 3 }), { idempotencyKey: 'k2' })
        expect(other.id).not.toBe(first.id)
        const plain = await s.append(run, ev(run, 'pay', { n: 4 }))
        expect((await s.read(run)).map((e) => e.id)).toEqual([first.id, other.id, plain.id])
      })

      it('stores one event for 20 concurrent appends with the same key', async () => {
        const s = await store()
        const run = uniqueName()
        await s.append(run, ev(run, 'before', null))
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) => s.append(run, ev(run, 'pay', { i }), { idempotencyKey: 'same' })),
        )
        const ids = new Set(results.map((r) => r.id))
        expect(ids.size).toBe(1)
        const events = await s.read(run)
        expect(events.length).toBe(2)
        expect(events[1]!.id).toBe(results[0]!.id)
        expect(results.every((r) => JSON.stringify(r.data) === JSON.stringify(events[1]!.data))).toBe(true)
      })

      it('keys are per run', async () => {
        const s = await store()
        const [r1, r2] = [uniqueName(), uniqueName()]
        await s.append(r1, ev(r1, 'a', 1), { idempotencyKey: 'k' })
        await s.append(r2, ev(r2, 'a', 2), { idempotencyKey: 'k' })
        expect((await s.read(r1)).map((e) => e.data)).toEqual([1])
        expect((await s.read(r2)).map((e) => e.data)).toEqual([2])
      })
    })

    describe('names and payload safety (F17)', () => {
      const bad = ['a:b', 'x*', '{x}', 'a\nb', '', 'a'.repeat(129), '__proto__', '-lead', 'a b', 'é']

      it.each(bad.map((b) => [JSON.stringify(b).slice(0, 30), b]))(
        'refuses run id %s with INVALID_NAME, writing nothing',
        async (_, name) => {
          const s = await store()
          await expectCode(s.append(name, ev(name, 'ok', 1)), 'INVALID_NAME')
        },
      )

      it('refuses bad kinds and step names with INVALID_NAME, writing nothing', async () => {
        const s = await store()
        const run = uniqueName()
        for (const name of bad) {
          await expectCode(s.append(run, ev(run, name, 1)), 'INVALID_NAME')
          await expectCode(s.append(run, ev(run, 'ok', 1, name)), 'INVALID_NAME')
        }
        expect(await s.read(run)).toEqual([])
        const fine = await s.append(run, ev(run, 'a.b-c_d', 1, 'x'.repeat(128)))
        expect(fine.step).toBe('x'.repeat(128))
        expect((await s.read(run)).length).toBe(1)
      })

      it('stores __proto__ keys as plain data without polluting Object.prototype', async () => {
        const s = await store()
        const run = uniqueName()
        const data = JSON.parse('{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},"ok":1}')
        const rec = await s.append(run, ev(run, 'evil', data))
        const [back] = await s.read(run)
        const [followed] = await collect(s.follow(run), 1)
        for (const d of [rec.data, back!.data, followed!.data] as Record<string, unknown>[]) {
          expect(Object.hasOwn(d, '__proto__')).toBe(true)
          expect(JSON.stringify(d)).toBe(JSON.stringify(data))
          expect((d as { polluted?: unknown }).polluted).toBeUndefined()
        }
        expect(({} as { polluted?: unknown }).polluted).toBeUndefined()
        expect((Object.prototype as { polluted?: unknown }).polluted).toBeUndefined()
      })
    })

    describe('read', () => {
      it('pages forward and backward with exclusive after/before and limit', async () => {
        const s = await store()
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
        const s = await store()
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

      it('returns [] for an unknown run', async () => {
        const s = await store()
        expect(await s.read(uniqueName())).toEqual([])
        expect(await s.read(uniqueName(), { direction: 'backward', after: '1-0' })).toEqual([])
      })
    })

    describe('follow', () => {
      it('yields existing then live events in id order, no gap, no duplicate', async () => {
        const s = await store()
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
        const s = await store()
        const run = uniqueName()
        const ids: string[] = []
        for (let i = 0; i < 6; i++) ids.push((await s.append(run, ev(run, 'e', i))).id)
        const got = collect(s.follow(run, { after: ids[3] }), 4)
        ids.push((await s.append(run, ev(run, 'e', 6))).id, (await s.append(run, ev(run, 'e', 7))).id)
        expect((await within(got, 10_000, 'follow')).map((e) => e.data)).toEqual([4, 5, 6, 7])
      })

      it('follows a run that does not exist yet from its first event', async () => {
        const s = await store()
        const run = uniqueName()
        const got = collect(s.follow(run), 3)
        await sleep(20)
        for (let i = 0; i < 3; i++) await s.append(run, ev(run, 'e', i))
        expect((await within(got, 10_000, 'follow')).map((e) => e.data)).toEqual([0, 1, 2])
      })

      it('ends without throwing when its signal aborts, and releases it', async () => {
        const s = await store()
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

      it('ends when the caller breaks, while waiting for live events too', async () => {
        const s = await store()
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
        const s = await store()
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
        const s = await store()
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
        const s = await open({ retention: 300 })
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

    describe('listRuns and listFlows', () => {
      const start = (s: StreamStore, run: string, flow: string) =>
        s.append(run, { kind: 'flow.started', flow: run, data: { name: flow, input: {}, steps: {} } })

      it('keeps the summary on flow.started and terminal events', async () => {
        const s = await store()
        const flow = uniqueName('flow')
        const run = uniqueName()
        const started = await start(s, run, flow)
        expect(await s.listRuns(flow)).toEqual([{ runId: run, flow, status: 'running', startedAt: started.ts }])
        await s.append(run, { kind: 'step.started', flow: run, step: 'a', data: {} })
        expect((await s.listRuns(flow))[0]!.status).toBe('running')
        const done = await s.append(run, { kind: 'flow.completed', flow: run, data: { duration: 3 } })
        expect(await s.listRuns(flow)).toEqual([{ runId: run, flow, status: 'completed', startedAt: started.ts, completedAt: done.ts }])
        for (const [kind, status] of [
          ['flow.failed', 'failed'],
          ['flow.canceled', 'canceled'],
        ] as const) {
          const r = uniqueName()
          await start(s, r, flow)
          const end = await s.append(r, { kind, flow: r, data: kind === 'flow.failed' ? { error: 'x', duration: 1 } : {} })
          const summary = (await s.listRuns(flow)).find((x) => x.runId === r)
          expect(summary).toEqual({ runId: r, flow, status, startedAt: expect.any(String), completedAt: end.ts })
        }
      })

      it('lists newest first, with limit, exclusive before, status, and only the flow asked for', async () => {
        const s = await store()
        const flow = uniqueName('flow')
        const other = uniqueName('flow')
        const runs: Array<{ run: string; ms: number }> = []
        for (let i = 0; i < 5; i++) {
          const run = uniqueName()
          const rec = await start(s, run, flow)
          runs.push({ run, ms: Date.parse(rec.ts) })
          if (i % 2 === 1) await s.append(run, { kind: 'flow.completed', flow: run, data: { duration: 1 } })
          await nextMillisecond()
        }
        await start(s, uniqueName(), other)
        const newestFirst = [...runs].reverse().map((r) => r.run)
        expect((await s.listRuns(flow)).map((r) => r.runId)).toEqual(newestFirst)
        expect((await s.listRuns(flow, { limit: 2 })).map((r) => r.runId)).toEqual(newestFirst.slice(0, 2))
        expect((await s.listRuns(flow, { before: runs[3]!.ms })).map((r) => r.runId)).toEqual([runs[2]!.run, runs[1]!.run, runs[0]!.run])
        expect((await s.listRuns(flow, { before: runs[3]!.ms, limit: 1 })).map((r) => r.runId)).toEqual([runs[2]!.run])
        expect((await s.listRuns(flow, { status: 'completed' })).map((r) => r.runId)).toEqual([runs[3]!.run, runs[1]!.run])
        expect((await s.listRuns(flow, { status: 'running', limit: 2 })).map((r) => r.runId)).toEqual([runs[4]!.run, runs[2]!.run])
        expect(await s.listRuns(flow, { status: 'failed' })).toEqual([])
        expect((await s.listRuns(other)).length).toBe(1)
        expect(await s.listRuns(uniqueName('flow'))).toEqual([])
      })

      it('lists flows with their run counts', async () => {
        const s = await store()
        const f1 = uniqueName('flow')
        const f2 = uniqueName('flow')
        for (let i = 0; i < 3; i++) await start(s, uniqueName(), f1)
        await start(s, uniqueName(), f2)
        const loose = uniqueName()
        await s.append(loose, ev(loose, 'not.a.flow', 1)) // a run without flow.started is in no flow
        const flows = await s.listFlows()
        expect(flows.find((f) => f.flow === f1)).toEqual({ flow: f1, runs: 3 })
        expect(flows.find((f) => f.flow === f2)).toEqual({ flow: f2, runs: 1 })
      })
    })

    describe('retention', () => {
      it('removes a finished run (events, summary, index entry) and keeps a running one', async () => {
        const s = await open({ retention: 300 })
        const flow = uniqueName('flow')
        const running = uniqueName()
        const finished = uniqueName()
        await s.append(running, { kind: 'flow.started', flow: running, data: { name: flow, input: null, steps: {} } })
        await s.append(finished, { kind: 'flow.started', flow: finished, data: { name: flow, input: null, steps: {} } })
        await s.append(finished, ev(finished, 'log', { level: 'info', msg: 'x' }))
        await s.append(finished, { kind: 'flow.completed', flow: finished, data: { duration: 1 } })
        expect((await s.listRuns(flow)).length).toBe(2)
        await eventually(async () => (await s.read(finished)).length === 0, 5000, 'finished run expired')
        await eventually(async () => (await s.listRuns(flow)).length === 1, 5000, 'index entry expired')
        expect((await s.listRuns(flow)).map((r) => r.runId)).toEqual([running])
        expect((await s.listFlows()).find((f) => f.flow === flow)).toEqual({ flow, runs: 1 })
        expect((await s.read(running)).length).toBe(1)
      })
    })

    describe('bus', () => {
      it('publishes every appended record, with its id, on the bus', async () => {
        const bus = new EventBus()
        const s = await open({ bus })
        const run = uniqueName()
        const byKind: unknown[] = []
        const any: unknown[] = []
        const off1 = bus.onKind('user.ping', (e) => void byKind.push(e))
        const off2 = bus.onAny((e) => void any.push(e))
        const a = await s.append(run, ev(run, 'user.ping', { n: 1 }))
        const b = await s.append(run, ev(run, 'user.pong', { n: 2 }, 'st'))
        const dup = await s.append(run, ev(run, 'user.ping', { n: 3 }), { idempotencyKey: 'k' })
        await s.append(run, ev(run, 'user.ping', { n: 4 }), { idempotencyKey: 'k' }) // a repeat publishes nothing
        await eventually(async () => any.length >= 3, 5000, 'bus delivery')
        await sleep(50)
        off1()
        off2()
        expect(byKind).toEqual([a, dup])
        expect(any).toEqual([a, b, dup])
      })
    })

    describe('close', () => {
      it('resolves and ends open follow iterations', async () => {
        const s = await open()
        const run = uniqueName()
        await s.append(run, ev(run, 'e', 0))
        const seen: unknown[] = []
        const done = (async () => {
          for await (const e of s.follow(run)) seen.push(e.data)
          return 'ended'
        })()
        await eventually(async () => seen.length === 1, 5000, 'first event')
        made.splice(made.indexOf(s), 1)
        await within(s.close(), 5000, 'close')
        expect(await within(done, 5000, 'follow after close')).toBe('ended')
      })
    })
  })
}
