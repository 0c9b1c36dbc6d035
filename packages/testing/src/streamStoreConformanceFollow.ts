import type { EventRecord, StreamStore } from '@leanflow/core'
import { expect } from 'vitest'
import { describe, it } from './internal/kitTest.js'
import { type ConformanceContext, type ConformanceFaults, ev, eventually, uniqueName, within } from './streamStoreConformanceKit.js'

/** Follows `run` until the event whose data is `'last'`. */
async function untilLast(store: StreamStore, run: string, got: EventRecord[]): Promise<EventRecord[]> {
  for await (const e of store.follow(run)) if (got.push(e) && e.data === 'last') break
  return got
}

/**
 * StreamStore conformance: `follow` under faults (the pub/sub channel is a doorbell, the stream
 * the truth). Registered by `describeStreamStoreConformance`; skipped, saying so, without `faults.cutLive`.
 */
export function describeFollowFaultConformance(t: ConformanceContext): void {
  describe('follow through a lost live channel', () => {
    it('catches up from the stream on the events appended while the live channel was cut, then goes on live', async () => {
      const faults = t.faults as Required<ConformanceFaults>
      const s = await t.open() // its own store: the fault cuts only its channel
      const run = uniqueName()
      for (let i = 0; i < 3; i++) await s.append(run, ev(run, 'e', i))
      const live: EventRecord[] = []
      const following = untilLast(s, run, live)
      await eventually(async () => live.length === 3, 5000, 'the follower to read the first events')
      const restore = await faults.cutLive(s, run)
      // published to nobody: the follower can only get these by reading the stream after the cut
      for (let i = 3; i < 13; i++) await s.append(run, ev(run, 'e', i))
      const during: EventRecord[] = [] // a follower that starts while the channel is cut
      const joining = untilLast(s, run, during)
      await restore()
      // with nothing appended since: a follower must catch up on the events of the cut by itself
      // (reading the stream when its channel is back), not wait for the next append to ring it. A
      // run whose last event lands during a cut has no next append: its result would hang.
      const caughtUp = (got: EventRecord[]) => got.length >= 13 && got[12]!.data === 12
      await eventually(
        async () => caughtUp(live) && caughtUp(during),
        5000,
        'the followers to catch up, after restore() and before any further append, on the events appended during the cut',
      ).catch((err: Error) => {
        throw new Error(
          `${err.message} (the follower from before the cut holds ${live.length} of 13, the one that joined during it ${during.length})`,
        )
      })
      // subscribed again: these arrive live
      for (let i = 13; i < 18; i++) await s.append(run, ev(run, 'e', i))
      await s.append(run, ev(run, 'e', 'last'))
      const [a, b] = await within(Promise.all([following, joining]), 10_000, 'the followers after the live channel came back')
      const stored = await s.read(run)
      expect(stored.map((e) => e.data)).toEqual([...Array.from({ length: 18 }, (_, i) => i), 'last'])
      expect(a).toEqual(stored)
      expect(b).toEqual(stored)
    }, 30_000)
  })
}
