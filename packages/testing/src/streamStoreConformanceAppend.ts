import { CLOSING_EVENTS_RESERVE, compareEventIds, isEventId, isRepeatedAppend } from '@leanflow/core'
import { expect } from 'vitest'
import { describe, it } from './internal/kitTest.js'
import { type ConformanceContext, collect, ev, expectCode, show, uniqueName } from './streamStoreConformanceKit.js'

/** StreamStore conformance: append, idempotency, names and payload safety. Registered by `describeStreamStoreConformance`. */
export function describeAppendConformance(t: ConformanceContext): void {
  describe('append', () => {
    it('returns the record with id, ts, kind, flow, data and meta; ids increase within a run', async () => {
      const s = await t.store()
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
      expect(Date.parse(a.ts), "ts is the time of the id's millisecond").toBe(Number(a.id.slice(0, a.id.indexOf('-'))))
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
      const s = await t.store()
      const run = uniqueName()
      const values: unknown[] = [null, 0, -1.5, 'text', '', true, false, [], {}, [1, [2, [3]]], { a: { b: { c: 'd' } } }, 'ünïcødé ✓ 🚀']
      for (const v of values) expect((await s.append(run, ev(run, 'v', v))).data).toEqual(v)
      expect((await s.read(run)).map((e) => e.data)).toEqual(values)
      // stored as JSON: no data reads back as null, a Date as its ISO string, an undefined field not at all
      const other = uniqueName()
      expect((await s.append(other, { kind: 'none', flow: other } as never)).data).toBeNull()
      await s.append(other, ev(other, 'dated', { at: new Date(0), gone: undefined }))
      const back = await s.read(other)
      expect(back.map((e) => e.data)).toEqual([null, { at: '1970-01-01T00:00:00.000Z' }])
      expect(Object.keys(back[1]!.data as object)).toEqual(['at'])
    })

    it('stores a 1 MB payload and reads it back byte-exact (F15)', async () => {
      const s = await t.store()
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
      const s = await t.open({ maxEventBytes: 2000 })
      const run = uniqueName()
      await s.append(run, ev(run, 'small', { x: 'y'.repeat(100) }))
      const err = await expectCode(
        s.append(run, ev(run, 'big', { x: 'y'.repeat(5000) })),
        'PAYLOAD_TOO_LARGE',
        'append of a 5000-byte event, maxEventBytes 2000',
      )
      expect((err as Error).name).toBe('PayloadTooLargeError')
      const fresh = uniqueName()
      await expectCode(
        s.append(fresh, ev(fresh, 'big', { x: 'y'.repeat(5000) })),
        'PAYLOAD_TOO_LARGE',
        'append of a 5000-byte event to a new run, maxEventBytes 2000',
      )
      expect((await s.read(run)).map((e) => e.kind)).toEqual(['small'])
      expect(await s.read(fresh)).toEqual([])
    })

    it('refuses appends past maxEventsPerRun with RUN_TOO_LONG and writes nothing', async () => {
      const s = await t.open({ maxEventsPerRun: 5 })
      const run = uniqueName()
      for (let i = 0; i < 5; i++) await s.append(run, ev(run, 'e', i))
      await expectCode(s.append(run, ev(run, 'e', 5)), 'RUN_TOO_LONG', 'append to a run at maxEventsPerRun', 'state')
      await expectCode(s.append(run, ev(run, 'e', 6)), 'RUN_TOO_LONG', 'a second append to a run at maxEventsPerRun', 'state')
      expect((await s.read(run)).map((e) => e.data)).toEqual([0, 1, 2, 3, 4])
      // other runs are unaffected
      const otherRun = uniqueName()
      expect((await s.append(otherRun, ev(otherRun, 'e', 0))).data).toBe(0)
    })

    it('a run at maxEventsPerRun still takes its closing events (step.failed, flow.completed, flow.failed, flow.canceled), CLOSING_EVENTS_RESERVE of them', async () => {
      const s = await t.open({ maxEventsPerRun: 5 })
      const run = uniqueName()
      for (let i = 0; i < 5; i++) await s.append(run, ev(run, 'e', i))
      await expectCode(
        s.append(run, ev(run, 'step.started', null, 's')),
        'RUN_TOO_LONG',
        'append of step.started to a run at maxEventsPerRun',
        'state',
      )
      // what ends an attempt or the run is taken past the limit, so a runner can record the failure
      await s.append(run, ev(run, 'step.failed', { error: 'RUN_TOO_LONG', willRetry: false }, 's'))
      await s.append(run, ev(run, 'flow.failed', { error: 'RUN_TOO_LONG' }))
      await s.append(run, ev(run, 'flow.canceled', { reason: 'x' }))
      await s.append(run, ev(run, 'flow.completed', {}))
      await expectCode(s.append(run, ev(run, 'log', { msg: 'x' })), 'RUN_TOO_LONG', 'append of log to a run past maxEventsPerRun', 'state')
      for (let i = 4; i < CLOSING_EVENTS_RESERVE; i++) await s.append(run, ev(run, 'step.failed', { error: String(i) }, 's'))
      await expectCode(
        s.append(run, ev(run, 'step.failed', { error: 'one too many' }, 's')),
        'RUN_TOO_LONG',
        'append of a closing event past CLOSING_EVENTS_RESERVE',
        'state',
      )
      expect(await s.read(run, { limit: 1000 })).toHaveLength(5 + CLOSING_EVENTS_RESERVE)
    })
  })

  describe('idempotency', () => {
    it('stores one event for a repeated key and returns the first record', async () => {
      const s = await t.store()
      const run = uniqueName()
      const first = await s.append(run, ev(run, 'pay', { n: 1 }), { idempotencyKey: 'k1' })
      const again = await s.append(run, ev(run, 'pay', { n: 2 }), { idempotencyKey: 'k1' })
      expect(again).toEqual(first)
      // the runner tells a repeat from a new write by this mark (markRepeatedAppend), not by comparing records
      expect(isRepeatedAppend(first), 'the first append of a key is no repeat').toBe(false)
      expect(isRepeatedAppend(again), 'a repeated append must return its first record marked with markRepeatedAppend').toBe(true)
      const other = await s.append(run, ev(run, 'pay', { n: 3 }), { idempotencyKey: 'k2' })
      expect(other.id).not.toBe(first.id)
      const plain = await s.append(run, ev(run, 'pay', { n: 4 }))
      expect((await s.read(run)).map((e) => e.id)).toEqual([first.id, other.id, plain.id])
    })

    it('stores one event for 20 concurrent appends with the same key', async () => {
      const s = await t.store()
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
      const s = await t.store()
      const [r1, r2] = [uniqueName(), uniqueName()]
      await s.append(r1, ev(r1, 'a', 1), { idempotencyKey: 'k' })
      await s.append(r2, ev(r2, 'a', 2), { idempotencyKey: 'k' })
      expect((await s.read(r1)).map((e) => e.data)).toEqual([1])
      expect((await s.read(r2)).map((e) => e.data)).toEqual([2])
    })
  })

  // What a store refuses, and with which code, is decided by core's validateAppend, which every
  // store calls before it writes; these cases pin the codes so no store drifts from them.
  describe('refusals, the same in every store', () => {
    it('refuses an event that is not an object, or whose meta is not a plain object (or has a mistyped attempt, jobId or traceparent), with INVALID_EVENT, writing nothing', async () => {
      const s = await t.store()
      const run = uniqueName()
      for (const bad of [null, undefined, 42, 'event', [], [{ kind: 'a' }]]) {
        await expectCode(s.append(run, bad as never), 'INVALID_EVENT', `append of event ${show(bad)}`)
      }
      // and the typed fields of meta: an attempt that is no whole number of 1 or more, a jobId or traceparent that is no string
      const badFields = [{ attempt: 'one' }, { attempt: 0 }, { attempt: 1.5 }, { attempt: null }, { jobId: 5 }, { traceparent: {} }]
      for (const meta of ['x', 1, null, [], [1], new Date(0), new Map([['a', 1]]), ...badFields]) {
        await expectCode(
          s.append(run, { kind: 'a', flow: run, data: 1, meta: meta as never }),
          'INVALID_EVENT',
          `append with meta ${show(meta)}`,
        )
      }
      expect(await s.read(run)).toEqual([])
      // meta's other fields are the caller's
      await s.append(run, { kind: 'a', flow: run, data: 1, meta: { attempt: 2, jobId: 'j1', worker: 'w1', custom: { x: [1] } } })
      expect((await s.read(run))[0]?.meta).toEqual({ attempt: 2, jobId: 'j1', worker: 'w1', custom: { x: [1] } })
    })

    it('refuses data JSON cannot hold (cyclic, BigInt, a function, a symbol, toJSON giving nothing) with INVALID_EVENT', async () => {
      const s = await t.store()
      const run = uniqueName()
      const cyclic: Record<string, unknown> = {}
      cyclic.self = cyclic
      const nothing = { toJSON: () => undefined }
      for (const data of [cyclic, { n: 1n }, 1n, () => 1, Symbol('s'), nothing]) {
        await expectCode(s.append(run, ev(run, 'a', data)), 'INVALID_EVENT', `append with data ${show(data)}`)
        await expectCode(s.append(run, ev(run, 'a', data, 'step')), 'INVALID_EVENT', `append of a step event with data ${show(data)}`)
      }
      await expectCode(s.append(run, { kind: 'a', flow: run, data: 1, meta: { n: 1n } }), 'INVALID_EVENT', 'append with meta { n: 1n }')
      expect(await s.read(run)).toEqual([])
      // undefined data is stored as null
      expect((await s.append(run, { kind: 'a', flow: run, data: undefined })).data).toBeNull()
      expect((await s.read(run)).map((e) => e.data)).toEqual([null])
    })

    it('refuses an idempotency key that is not a string of 1-512 characters of well-formed Unicode with INVALID_ARGUMENT', async () => {
      const s = await t.store()
      const run = uniqueName()
      // a lone surrogate: a store keeping keys as UTF-8 would make 'k\uD800' and 'k\uD801' one key
      for (const key of ['', 'k'.repeat(513), 42, null, {}, 'k\uD800', 'k\uDC00x', '\uDBFF']) {
        await expectCode(
          s.append(run, ev(run, 'a', 1), { idempotencyKey: key as never }),
          'INVALID_ARGUMENT',
          `append idempotencyKey ${show(key)}`,
        )
      }
      expect(await s.read(run)).toEqual([])
      const longest = 'k'.repeat(512)
      const first = await s.append(run, ev(run, 'a', 1), { idempotencyKey: longest })
      expect((await s.append(run, ev(run, 'a', 2), { idempotencyKey: longest })).id).toBe(first.id)
      // a pair is well-formed, and kept apart from another pair
      const a = await s.append(run, ev(run, 'a', 3), { idempotencyKey: 'k\uD83D\uDE00' })
      const b = await s.append(run, ev(run, 'a', 4), { idempotencyKey: 'k\uD83D\uDE01' })
      expect([a.data, b.data]).toEqual([3, 4])
    })

    it('refuses an `after` that is no idempotency key or names no stored append, and a fence that is no { key, token }, with INVALID_ARGUMENT, writing nothing', async () => {
      const s = await t.store()
      const run = uniqueName()
      await s.append(run, ev(run, 'a', 0), { idempotencyKey: 'k0' })
      // '' is no key an append can store: it must never read as "no `after`" (nor as "no fence")
      for (const after of ['', 'k'.repeat(513), null, 42, {}]) {
        await expectCode(s.append(run, ev(run, 'b', 1), { after: after as never }), 'INVALID_ARGUMENT', `append after ${show(after)}`)
      }
      for (const fence of [null, 'step', [], {}, { key: '', token: 't' }, { key: 'a' }, { key: 'a', token: 1 }, { key: 1, token: 't' }]) {
        await expectCode(s.append(run, ev(run, 'b', 1), { fence: fence as never }), 'INVALID_ARGUMENT', `append fence ${show(fence)}`)
      }
      // a well-formed `after` naming no stored append is refused too: the runner orders appends by it
      await expectCode(
        s.append(run, ev(run, 'b', 1), { after: 'missing' }),
        'INVALID_ARGUMENT',
        "append after 'missing', a key the run does not hold",
        'state',
      )
      expect((await s.read(run)).map((e) => e.kind)).toEqual(['a'])
      expect((await s.append(run, ev(run, 'b', 1), { after: 'k0' })).kind).toBe('b')
    })

    it('refuses flow.started without a valid flow name, or with a reserved one (runs, triggers, events), with INVALID_NAME', async () => {
      const s = await t.store()
      const run = uniqueName()
      for (const data of [{ name: 'runs' }, { name: 'triggers' }, { name: 'events' }, { name: 'a:b' }, { name: 1 }, {}, null, 'order']) {
        await expectCode(
          s.append(run, { kind: 'flow.started', flow: run, data }),
          'INVALID_NAME',
          `append of flow.started with data ${show(data)}`,
        )
      }
      expect(await s.read(run)).toEqual([])
      expect(await s.listFlows()).not.toContainEqual(expect.objectContaining({ flow: 'runs' }))
    })

    it('checks an append before its idempotency key: a refused event is refused even when the key is stored', async () => {
      const s = await t.open({ maxEventBytes: 2000 })
      const run = uniqueName()
      await s.append(run, ev(run, 'a', 1), { idempotencyKey: 'k' })
      await expectCode(
        s.append(run, ev(run, 'a', 'x'.repeat(5000)), { idempotencyKey: 'k' }),
        'PAYLOAD_TOO_LARGE',
        'append of a 5000-byte event with a stored idempotency key',
      )
      await expectCode(
        s.append(run, ev(run, 'a', { n: 1n }), { idempotencyKey: 'k' }),
        'INVALID_EVENT',
        'append with data { n: 1n } and a stored idempotency key',
      )
      expect((await s.read(run)).map((e) => e.data)).toEqual([1])
    })

    it('measures maxEventBytes on the event JSON {kind, flow, step, data, meta} in UTF-8 bytes', async () => {
      const max = 300
      const s = await t.open({ maxEventBytes: max })
      const run = uniqueName()
      const bytes = (data: string) => new TextEncoder().encode(JSON.stringify({ kind: 'a', flow: run, data })).length
      // 'é' is 2 bytes: fill to exactly the limit, then one byte over
      let data = 'é'.repeat(Math.floor((max - bytes('')) / 2))
      while (bytes(data) < max) data += 'x'
      expect(bytes(data)).toBe(max)
      expect((await s.append(run, ev(run, 'a', data))).data).toBe(data)
      await expectCode(s.append(run, ev(run, 'a', `${data}x`)), 'PAYLOAD_TOO_LARGE', 'append of an event 1 byte over maxEventBytes')
      expect((await s.read(run)).length).toBe(1)
    })
  })

  describe('names and payload safety (F17)', () => {
    const bad = ['a:b', 'x*', '{x}', 'a\nb', '', 'a'.repeat(129), '__proto__', '-lead', 'a b', 'é']

    it.each(bad.map((b) => [JSON.stringify(b).slice(0, 30), b]))(
      'refuses run id %s with INVALID_NAME, writing nothing',
      async (_, name) => {
        const s = await t.store()
        await expectCode(s.append(name, ev(name, 'ok', 1)), 'INVALID_NAME', `append to run id ${show(name)}`)
      },
    )

    it('refuses bad kinds and step names with INVALID_NAME, writing nothing', async () => {
      const s = await t.store()
      const run = uniqueName()
      for (const name of bad) {
        await expectCode(s.append(run, ev(run, name, 1)), 'INVALID_NAME', `append of kind ${show(name)}`)
        await expectCode(s.append(run, ev(run, 'ok', 1, name)), 'INVALID_NAME', `append of step ${show(name)}`)
      }
      expect(await s.read(run)).toEqual([])
      const fine = await s.append(run, ev(run, 'a.b-c_d', 1, 'x'.repeat(128)))
      expect(fine.step).toBe('x'.repeat(128))
      expect((await s.read(run)).length).toBe(1)
    })

    it('stores __proto__ keys as plain data without polluting Object.prototype', async () => {
      const s = await t.store()
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
}
