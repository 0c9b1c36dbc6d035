import type { EventRecord, NewEvent, StreamStore } from '@leanflow/core'
import { expect } from 'vitest'
import { describe, it } from './internal/kitTest.js'
import { type ConformanceContext, ev, eventually, sleep, uniqueName, within } from './streamStoreConformanceKit.js'

/** How long the store may take to reconnect after the backend is back. */
const RECONNECT_MS = 15_000

/** Appends with an idempotency key, again while the store is still reconnecting (a repeat stores nothing). */
async function appendAgain(s: StreamStore, run: string, e: NewEvent, key: string): Promise<EventRecord> {
  const deadline = Date.now() + RECONNECT_MS
  for (;;) {
    try {
      return await s.append(run, e, { idempotencyKey: key })
    } catch (err) {
      if (Date.now() > deadline) throw err
      await sleep(100)
    }
  }
}

/**
 * StreamStore conformance: a restart of the backend. Registered by `describeStreamStoreConformance`
 * only with `faults.restart` (a store held in memory has no backend to restart: the suite's
 * title then says this was not checked).
 */
export function describeRestartConformance(t: ConformanceContext): void {
  const restart = t.faults?.restart
  if (!restart) return
  describe('across a backend restart', () => {
    it('keeps every acknowledged event, appends again once the backend is back (without duplicates), and a follower open across the restart gets every event in order', async () => {
      const s = await t.open()
      const run = uniqueName()
      for (let i = 0; i < 5; i++) await s.append(run, ev(run, 'e', i), { idempotencyKey: `k${i}` })
      const got: EventRecord[] = []
      const following = (async () => {
        for await (const e of s.follow(run)) if (got.push(e) && e.data === 'last') break
        return got
      })()
      await eventually(async () => got.length === 5, 5000, 'the follower to read the first events')
      await restart()
      for (let i = 5; i < 10; i++) await appendAgain(s, run, ev(run, 'e', i), `k${i}`)
      await appendAgain(s, run, ev(run, 'e', 'last'), 'last')
      const followed = await within(following, RECONNECT_MS, 'the follower after the restart')
      const stored = await s.read(run)
      expect(stored.map((e) => e.data)).toEqual([...Array.from({ length: 10 }, (_, i) => i), 'last'])
      expect(followed).toEqual(stored)
    }, 60_000)
  })
}
