// StreamStore conformance: ids at the edges (0-0, the largest stream id) and ids that are no
// stream id at all, in read and follow (FAULTS.md F27). Registered by describeReadFollowConformance.
import type { EventRecord, StreamStore } from '@leanflow/core'
import { isLeanflowError } from '@leanflow/core'
import { expect } from 'vitest'
import { describe, it } from './internal/kitTest.js'
import { type ConformanceContext, collect, ev, expectCode, uniqueName, within } from './streamStoreConformanceKit.js'

const MAX = '18446744073709551615-18446744073709551615'

/** Follows until the first event or the end; resolves to the events, or to the error a next() threw (or follow itself). */
async function firstOrError(s: StreamStore, run: string, after: string): Promise<EventRecord[] | unknown> {
  try {
    const out: EventRecord[] = []
    for await (const e of s.follow(run, { after })) {
      out.push(e)
      break
    }
    return out
  } catch (err) {
    return err
  }
}

export function describeIdEdgesConformance(t: ConformanceContext): void {
  describe('ids at the edges', () => {
    it('read: nothing before 0-0 and nothing after the largest id, in both directions; 0-0 and the largest id as open bounds', async () => {
      const s = await t.store()
      const run = uniqueName()
      const ids: string[] = []
      for (let i = 0; i < 4; i++) ids.push((await s.append(run, ev(run, 'e', i))).id)
      const data = async (o: Parameters<StreamStore['read']>[1]) => (await s.read(run, o)).map((e) => e.data)
      for (const direction of ['forward', 'backward'] as const) {
        expect(await data({ before: '0-0', direction })).toEqual([])
        expect(await data({ before: '000-0000', direction })).toEqual([])
        expect(await data({ after: MAX, direction })).toEqual([])
        expect(await data({ after: '18446744073709551615-0', direction })).toEqual([])
        expect(await data({ before: '0-1', direction })).toEqual([])
        expect(await data({ after: MAX, before: '0-0', direction })).toEqual([])
        expect(await data({ after: ids[2], before: ids[1], direction })).toEqual([])
      }
      expect(await data({ after: '0-0' })).toEqual([0, 1, 2, 3])
      expect(await data({ before: MAX })).toEqual([0, 1, 2, 3])
      expect(await data({ after: '0-0', before: MAX, direction: 'backward' })).toEqual([3, 2, 1, 0])
      expect(await data({ after: '00-00', before: '18446744073709551615-18446744073709551614' })).toEqual([0, 1, 2, 3])
      expect(await s.read(uniqueName(), { before: '0-0' })).toEqual([])
      expect(await s.read(uniqueName(), { after: MAX, direction: 'backward' })).toEqual([])
    })

    it('read and follow refuse an id that is no stream id (a part over 2^64 - 1) with INVALID_ARGUMENT', async () => {
      const s = await t.store()
      const run = uniqueName()
      await s.append(run, ev(run, 'e', 0))
      for (const bad of ['18446744073709551616-0', '0-18446744073709551616', '99999999999999999999-99999999999999999999']) {
        const err = await expectCode(s.read(run, { after: bad }), 'INVALID_ARGUMENT', `read after ${bad}`)
        expect(String((err as Error).message)).toContain(bad)
        await expectCode(s.read(run, { before: bad, direction: 'backward' }), 'INVALID_ARGUMENT', `read backward before ${bad}`)
        const followed = await firstOrError(s, run, bad)
        expect(isLeanflowError(followed, 'INVALID_ARGUMENT'), `follow after ${bad}: ${String(followed)}`).toBe(true)
      }
    })

    it('follow after the largest id, or any id past the last event, of a live run throws HISTORY_GONE at once', async () => {
      const s = await t.store()
      const run = uniqueName()
      const last = await s.append(run, ev(run, 'e', 0))
      const ms = Number(last.id.split('-')[0])
      for (const after of [MAX, `${ms + 60_000}-0`, `${ms}-${Number(last.id.split('-')[1]) + 1}`]) {
        const err = await within(firstOrError(s, run, after) as Promise<unknown>, 5000, `follow after ${after}`)
        expect(isLeanflowError(err, 'HISTORY_GONE'), `follow after ${after}: ${String(err)}`).toBe(true)
        expect(String((err as Error).message)).toContain(after)
      }
      // the run is unharmed: a follow from its last event gets the next one; from 0-0, everything
      const next = collect(s.follow(run, { after: last.id }), 1)
      const later = await s.append(run, ev(run, 'e', 1))
      expect(await within(next, 5000, 'follow after the last event')).toEqual([later])
      expect(await within(collect(s.follow(run, { after: '0-0' }), 2), 5000, 'follow after 0-0')).toEqual(await s.read(run))
    })
  })
}
