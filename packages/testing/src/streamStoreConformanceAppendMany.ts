import { CLOSING_EVENTS_RESERVE, type EventRecord, isRepeatedAppend, type StreamStore } from '@leanflow/core'
import { expect } from 'vitest'
import { describe, it } from './internal/kitTest.js'
import { type ConformanceContext, ev, expectCode, show, uniqueName } from './streamStoreConformanceKit.js'

/** The store's `appendMany`, or an error saying to mark the group unsupported (it is optional). */
function many(s: StreamStore): NonNullable<StreamStore['appendMany']> {
  if (!s.appendMany) {
    throw new Error("This store has no appendMany (optional): pass unsupported: { appendMany: '<reason>' } to the conformance suite.")
  }
  return s.appendMany.bind(s)
}

const item = (run: string, kind: string, data: unknown, key?: string) => ({ event: ev(run, kind, data), idempotencyKey: key })

/** StreamStore conformance: `appendMany` (order, idempotency, checks before any write). Registered by `describeStreamStoreConformance`. */
export function describeAppendManyConformance(t: ConformanceContext): void {
  describe('appendMany', () => {
    it('stores the events in order, each as append would, and returns their records in order', async () => {
      const s = await t.store()
      const run = uniqueName()
      const first = await s.append(run, ev(run, 'before', 0))
      const recs = await many(s)(run, [item(run, 'a', 1, 'k1'), item(run, 'b', { x: [1] }), item(run, 'c', null, 'k3')])
      expect(recs.map((r) => [r.kind, r.data, r.flow])).toEqual([
        ['a', 1, run],
        ['b', { x: [1] }, run],
        ['c', null, run],
      ])
      const read = await s.read(run)
      expect(read).toEqual([first, ...recs])
      expect(await many(s)(run, [])).toEqual([])
    })

    it('an idempotency key stored already, or earlier in the batch, stores nothing again: its first record comes back, marked', async () => {
      const s = await t.store()
      const run = uniqueName()
      const a = await s.append(run, ev(run, 'a', 1), { idempotencyKey: 'k1' })
      const recs = await many(s)(run, [item(run, 'a', 9, 'k1'), item(run, 'b', 2, 'k2'), item(run, 'b', 3, 'k2')])
      expect(recs[0]).toEqual(a)
      expect(recs[2]).toEqual(recs[1])
      expect(recs.map((r) => isRepeatedAppend(r))).toEqual([true, false, true])
      expect((await s.read(run)).map((e: EventRecord) => e.data)).toEqual([1, 2])
    })

    it('checks `after`, the run length and every event before writing anything: a refused batch stores none', async () => {
      const s = await t.open({ maxEventsPerRun: 4 })
      const run = uniqueName()
      await s.append(run, ev(run, 'a', 0), { idempotencyKey: 'k0' })
      await expectCode(
        many(s)(run, [item(run, 'b', 1)], { after: 'missing' }),
        'INVALID_ARGUMENT',
        "appendMany after 'missing', a key the run does not hold",
        'state',
      )
      await expectCode(
        many(s)(run, [item(run, 'b', 1), item(run, 'c', 2), item(run, 'd', 3), item(run, 'e', 4)]),
        'RUN_TOO_LONG',
        'appendMany of 4 events to a run holding 1, maxEventsPerRun 4',
        'state',
      )
      await expectCode(
        many(s)(run, [item(run, 'b', 1), { event: { kind: 'bad kind!', flow: run, data: 1 } }]),
        'INVALID_NAME',
        "appendMany whose item 1 has kind 'bad kind!'",
      )
      expect((await s.read(run)).map((e) => e.kind)).toEqual(['a'])
      // repeats take no room; `after` that is stored lets the batch through
      const ok = await many(s)(run, [item(run, 'a', 0, 'k0'), item(run, 'b', 1), item(run, 'c', 2), item(run, 'd', 3)], { after: 'k0' })
      expect(ok.map((e) => e.kind)).toEqual(['a', 'b', 'c', 'd'])
      expect((await s.read(run)).map((e) => e.kind)).toEqual(['a', 'b', 'c', 'd'])
    })

    it('refuses options that are no object, an `after` that is no idempotency key and a bad fence with INVALID_ARGUMENT; an empty batch stores nothing', async () => {
      const s = await t.store()
      const run = uniqueName()
      await s.append(run, ev(run, 'a', 0), { idempotencyKey: 'k0' })
      const bad: unknown[] = [null, 'x', [1], { after: '' }, { after: 42 }, { fence: null }, { fence: { key: '', token: 't' } }]
      for (const opts of bad) {
        await expectCode(many(s)(run, [item(run, 'b', 1)], opts as never), 'INVALID_ARGUMENT', `appendMany options ${show(opts)}`)
        await expectCode(many(s)(run, [], opts as never), 'INVALID_ARGUMENT', `appendMany of an empty batch, options ${show(opts)}`)
      }
      // an empty batch has nothing to order or fence: [] whatever the run holds
      expect(await many(s)(run, [], { after: 'missing' })).toEqual([])
      expect(await many(s)(run, [], { fence: { key: 'none', token: 't' } })).toEqual([])
      expect((await s.read(run)).map((e) => e.kind)).toEqual(['a'])
    })

    it('refuses an option key appendMany does not take, and an item that is no { event, idempotencyKey? } (null, a bare event, a misspelt key), with INVALID_ARGUMENT naming it; nothing is written', async () => {
      const s = await t.store()
      const run = uniqueName()
      await s.append(run, ev(run, 'a', 0), { idempotencyKey: 'k0' })
      // a misspelt key dropped silently would write the batch without the order or fence it asked for
      for (const [opts, key] of [
        [{ aftr: 'k0' }, 'aftr'],
        [{ after: 'k0', fenc: { key: 'a', token: 't' } }, 'fenc'],
        [{ idempotencyKey: 'k' }, 'idempotencyKey'], // append's option: a batch's keys go on its items
      ] as const) {
        const what = `appendMany with the unknown option key ${key} (${JSON.stringify(opts)})`
        const err = await expectCode(many(s)(run, [item(run, 'b', 1)], opts as never), 'INVALID_ARGUMENT', what)
        expect((err as Error).message, `${what}: the message names the key`).toContain(key)
      }
      const items: Array<[what: string, item: unknown]> = [
        ['null', null],
        ['a bare event', ev(run, 'c', 2)],
        ['a string', 'c'],
        ['the misspelt key idempotencyKe', { event: ev(run, 'c', 2), idempotencyKe: 'k' }],
      ]
      for (const [what, bad] of items) {
        // behind a good item: the batch is refused whole, the good item not written either
        await expectCode(many(s)(run, [item(run, 'b', 1, 'kb'), bad as never]), 'INVALID_ARGUMENT', `appendMany whose item 1 is ${what}`)
      }
      expect((await s.read(run)).map((e) => e.kind)).toEqual(['a'])
      // the keys were not stored either: appends with them now are first appends
      expect(isRepeatedAppend(await s.append(run, ev(run, 'b', 1), { idempotencyKey: 'kb' }))).toBe(false)
      expect((await s.append(run, ev(run, 'c', 2), { idempotencyKey: 'k' })).data).toBe(2)
    })

    it('takes a batch exactly when its events, appended one by one, would all be taken: closing events past maxEventsPerRun too', async () => {
      const s = await t.open({ maxEventsPerRun: 3 })
      const run = uniqueName()
      await s.append(run, ev(run, 'a', 0))
      await s.append(run, ev(run, 'a', 1))
      // one room left: a plain event fills it, and the closing event behind it goes past the limit, as with append
      const filled = await many(s)(run, [item(run, 'b', 1), item(run, 'flow.failed', { error: 'x' })])
      expect(filled.map((e) => e.kind)).toEqual(['b', 'flow.failed'])
      // past the limit (4 held): a closing event alone, or a row of them, is taken ...
      expect((await many(s)(run, [item(run, 'flow.canceled', { reason: 'r' })])).map((e) => e.kind)).toEqual(['flow.canceled'])
      const closing = [
        item(run, 'step.failed', { error: 'e', willRetry: false }),
        item(run, 'flow.completed', {}),
        item(run, 'flow.failed', {}),
      ]
      expect((await many(s)(run, closing)).map((e) => e.kind)).toEqual(['step.failed', 'flow.completed', 'flow.failed'])
      // ... a batch with any other event is refused whole, wherever that event is
      await expectCode(many(s)(run, [item(run, 'log', { msg: 'x' })]), 'RUN_TOO_LONG', 'appendMany of a log past maxEventsPerRun', 'state')
      await expectCode(
        many(s)(run, [item(run, 'flow.failed', {}), item(run, 'log', { msg: 'x' })]),
        'RUN_TOO_LONG',
        'appendMany of [flow.failed, log] past maxEventsPerRun',
        'state',
      )
      await expectCode(
        many(s)(run, [item(run, 'log', { msg: 'x' }), item(run, 'flow.failed', {})]),
        'RUN_TOO_LONG',
        'appendMany of [log, flow.failed] past maxEventsPerRun',
        'state',
      )
      expect((await s.read(run)).map((e) => e.kind)).toEqual([
        'a',
        'a',
        'b',
        'flow.failed',
        'flow.canceled',
        'step.failed',
        'flow.completed',
        'flow.failed',
      ])
      // and the reserve ends where append's does
      const room = 3 + CLOSING_EVENTS_RESERVE - 8
      const fill = Array.from({ length: room }, (_, i) => item(run, 'step.failed', { error: String(i) }))
      expect(await many(s)(run, fill)).toHaveLength(room)
      await expectCode(
        many(s)(run, [item(run, 'flow.failed', {})]),
        'RUN_TOO_LONG',
        'appendMany of a closing event past CLOSING_EVENTS_RESERVE',
        'state',
      )
      await expectCode(
        s.append(run, ev(run, 'flow.failed', {})),
        'RUN_TOO_LONG',
        'append of a closing event past CLOSING_EVENTS_RESERVE',
        'state',
      )
      expect(await s.read(run, { limit: 1000 })).toHaveLength(3 + CLOSING_EVENTS_RESERVE)
    })
  })
}
