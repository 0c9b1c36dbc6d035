// RunStateStore conformance: the outbox of child outcomes (`putChildOutcome`, `takeChildOutcomes`,
// `dropChildOutcomes`; optional: on a store with none of the three these cases are skipped, and say why).
// Registered by describeRunStateConformance, so it runs on every store that suite runs on.
import type { ChildOutcomeEntry, RunStateStore } from '@leanflow/core'
import { expect, it } from 'vitest'
import type { FullStore } from './runStateConformance.js'
import { uniqueName } from './streamStoreConformanceKit.js'

type WithStore = (fn: (s: FullStore) => Promise<void>) => () => Promise<void>
type Outbox = Required<Pick<RunStateStore, 'putChildOutcome' | 'takeChildOutcomes' | 'dropChildOutcomes'>>

/** The store's outbox, `undefined` when it has none; all three methods or none. */
function outboxOf(s: FullStore): Outbox | undefined {
  const has = [s.putChildOutcome, s.takeChildOutcomes, s.dropChildOutcomes].filter((m) => m !== undefined).length
  if (has === 0) return undefined
  if (has < 3) throw new Error('putChildOutcome, takeChildOutcomes and dropChildOutcomes go together: implement all three or none.')
  return s as unknown as Outbox
}

const byChild = (xs: ChildOutcomeEntry[]) => [...xs].sort((a, b) => (a.childRunId < b.childRunId ? -1 : 1))
const done = (result: unknown) => ({ status: 'completed', result })

export function outboxConformance(withStore: WithStore): void {
  // a store without the outbox (it is optional): each case shows as skipped, never as passed
  const withBox = (fn: (s: FullStore, box: Outbox) => Promise<void>) => (ctx: { skip: (note?: string) => void }) =>
    withStore(async (s) => {
      const box = outboxOf(s)
      if (!box) return ctx.skip('this store has no outbox of child outcomes (optional)')
      await fn(s, box)
    })()
  it(
    'child outcomes: the first put after a take tells, the others do not; a repeat of the teller tells again and keeps the first outcome',
    withBox(async (s, box) => {
      const parent = uniqueName()
      await s.casRunState(parent, 0, { status: 'running' })
      expect(await box.putChildOutcome(parent, 'c1', done(1))).toEqual({ tell: true })
      expect(await box.putChildOutcome(parent, 'c2', { status: 'failed', error: 'boom' })).toEqual({ tell: false })
      expect(await box.putChildOutcome(parent, 'c1', done(99))).toEqual({ tell: true })
      expect(byChild(await box.takeChildOutcomes(parent))).toEqual([
        { childRunId: 'c1', outcome: done(1) },
        { childRunId: 'c2', outcome: { status: 'failed', error: 'boom' } },
      ])
      // the take ended the teller's turn: the next put tells, with the time since the take
      // an own "__proto__" key (JSON.parse makes one) stays a key
      const odd = done(JSON.parse('{"__proto__":{"polluted":1},"a":[null]}'))
      const next = await box.putChildOutcome(parent, 'c3', odd)
      expect(next.tell).toBe(true)
      expect(next.tell && next.sinceTakeMs).toBeGreaterThanOrEqual(0)
      expect(next.tell && next.sinceTakeMs).toBeLessThan(60_000)
      expect(await box.putChildOutcome(parent, 'c4', done(null))).toEqual({ tell: false })
      await box.dropChildOutcomes(parent, ['c1', 'c2', 'c4'])
      await box.dropChildOutcomes(parent, [])
      const left = await box.takeChildOutcomes(parent)
      expect(JSON.stringify(left)).toBe(JSON.stringify([{ childRunId: 'c3', outcome: odd }]))
      const back = left[0]?.outcome as { result: object } | undefined
      expect(back && Object.hasOwn(back.result, '__proto__')).toBe(true)
      expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    }),
  )

  it(
    'child outcomes: a parent without a document stores nothing; outboxes of two parents are apart',
    withBox(async (s, box) => {
      const [p1, p2, none] = [uniqueName(), uniqueName(), uniqueName()]
      expect(await box.putChildOutcome(none, 'c1', done(1))).toEqual({ tell: false })
      expect(await box.takeChildOutcomes(none)).toEqual([])
      await s.casRunState(p1, 0, { n: 1 })
      await s.casRunState(p2, 0, { n: 2 })
      expect(await box.putChildOutcome(p1, 'c1', done(1))).toEqual({ tell: true })
      expect(await box.putChildOutcome(p2, 'c1', done(2))).toEqual({ tell: true })
      expect(await box.takeChildOutcomes(p1)).toEqual([{ childRunId: 'c1', outcome: done(1) }])
      expect(await box.takeChildOutcomes(p2)).toEqual([{ childRunId: 'c1', outcome: done(2) }])
      await expect(box.putChildOutcome(p1, 'bad:id', done(1))).rejects.toMatchObject({ code: 'INVALID_NAME' })
    }),
  )

  it(
    'child outcomes: a put asked to take answers, when it tells, the whole outbox taken in the same step',
    withBox(async (s, box) => {
      const parent = uniqueName()
      await s.casRunState(parent, 0, {})
      expect(await box.putChildOutcome(parent, 'c1', done(1), { take: true })).toEqual({
        tell: true,
        taken: [{ childRunId: 'c1', outcome: done(1) }],
      })
      // the take ended the turn at once: the next put tells again, and without take it stays the teller
      const second = await box.putChildOutcome(parent, 'c2', done(2))
      expect(second.tell).toBe(true)
      expect(await box.putChildOutcome(parent, 'c3', done(3), { take: true })).toEqual({ tell: false })
      await box.dropChildOutcomes(parent, ['c1'])
      const again = await box.putChildOutcome(parent, 'c2', done(2), { take: true })
      expect(again.tell && byChild(again.taken ?? [])).toEqual([
        { childRunId: 'c2', outcome: done(2) },
        { childRunId: 'c3', outcome: done(3) },
      ])
    }),
  )

  it(
    'child outcomes: 50 concurrent puts of different children name exactly one teller',
    withBox(async (s, box) => {
      const parent = uniqueName()
      await s.casRunState(parent, 0, {})
      const puts = await Promise.all(Array.from({ length: 50 }, (_, i) => box.putChildOutcome(parent, `c${i}`, done(i))))
      expect(puts.filter((p) => p.tell)).toHaveLength(1)
      expect(await box.takeChildOutcomes(parent)).toHaveLength(50)
    }),
  )
}
