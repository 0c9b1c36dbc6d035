import { createMemoryStreamStore, type EventRecord } from '@leanflow/core'
import { createRunner, defineFlow } from '@leanflow/runner'
import { describe, expect, it } from 'vitest'
import { waitFor } from '../helpers/waitFor.js'

// Downtime on a fake store clock: no runner runs while the clock moves 9.5 minutes past a
// one-minute schedule's next tick; a runner that then starts fires what catchUp says, and
// the tick still on time (within the grace period: one cadence here) in every mode.

const T0 = Date.parse('2026-03-01T10:00:00.500Z')

async function ticksAfterDowntime(catchUp: 'latest' | 'none' | 'all'): Promise<string[]> {
  let now = T0
  const store = createMemoryStreamStore({ now: () => now })
  const flow = defineFlow({ name: 'report', steps: { a: { handler: async () => 1 } } })
  const runner = createRunner({ store, flows: [flow], onError: () => {} })
  const set = await runner.schedules.set({ id: `every-minute-${catchUp}`, flow: 'report', every: '1m', catchUp })
  expect(set.nextRunAt).toBe('2026-03-01T10:01:00.000Z')
  now = T0 + 10 * 60_000 // 10:10:00.5: the ticks of 10:01 … 10:09 were missed, 10:10 is on time
  await runner.start()
  try {
    await waitFor(async () => (await runner.schedules.list())[0]?.nextRunAt === '2026-03-01T10:11:00.000Z', 'the schedule moved on', 5000)
    const runs = await store.listRuns('report', { limit: 100 })
    const firsts = await Promise.all(runs.map(async (r) => (await store.read(r.runId, { limit: 1 }))[0] as EventRecord))
    return firsts.map((e) => (e.data as { schedule: { tick: string } }).schedule.tick).sort()
  } finally {
    await runner.stop()
    await store.close()
  }
}

const at = (minute: number) => `2026-03-01T10:${String(minute).padStart(2, '0')}:00.000Z`

describe('catchUp after downtime', () => {
  it("'latest' fires the most recent missed tick and the one on time", async () => {
    expect(await ticksAfterDowntime('latest')).toEqual([at(9), at(10)])
  })
  it("'none' fires only the tick on time", async () => {
    expect(await ticksAfterDowntime('none')).toEqual([at(10)])
  })
  it("'all' fires every missed tick, in order, once", async () => {
    expect(await ticksAfterDowntime('all')).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map(at))
  })
})
