import { createMemoryStreamStore, type EventRecord } from '@leanflow/core'
import { createRunner, defineFlow } from '@leanflow/runner'
import { expect, it } from 'vitest'
import { waitFor } from '../helpers/waitFor.js'

// A stored schedule this runner cannot read (a time zone its runtime's ICU does not know, a
// pattern only a newer release takes: another service on the store wrote it) is left for a
// runner that can, and reported once; it does not stop the schedules due after it.

const T0 = Date.parse('2026-03-01T10:00:00.500Z')

it('a schedule this runner cannot read is left and reported once; the schedules due after it still fire', async () => {
  let now = T0
  const store = createMemoryStreamStore({ now: () => now })
  const flow = defineFlow({ name: 'sync', steps: { a: { handler: async () => 1 } } })
  const errors: unknown[] = []
  const runner = createRunner({ store, flows: [flow], onError: (e) => errors.push(e) })
  // due before the readable one, so the due index hands it out first
  const unreadable = { id: 'zoned', flow: 'sync', cron: '0 3 * * *', tz: 'Mars/Olympus_Mons', overlap: 'allow', catchUp: 'latest' }
  await store.casSchedule('zoned', 0, { ...unreadable, source: 'stored', paused: false }, T0 - 60_000)
  const set = await runner.schedules.set({ id: 'minutely', flow: 'sync', every: '1m' })
  now = Date.parse(set.nextRunAt as string) + 10
  await runner.start()
  try {
    await waitFor(async () => (await runner.schedules.list())[0]?.nextRunAt !== set.nextRunAt, 'the readable schedule fired', 3000)
    const [run] = await store.listRuns('sync', { limit: 10 })
    const [started] = (await store.read(run?.runId as string, { limit: 1 })) as EventRecord[]
    expect(started?.data).toMatchObject({ schedule: { id: 'minutely', tick: set.nextRunAt } })
    // looks go on (one per poll at the least): the unreadable one is still reported once
    now += 60_000
    await waitFor(async () => (await store.listRuns('sync', { limit: 10 })).length === 2, 'the next tick', 3000)
    expect(errors).toHaveLength(1)
    expect(String(errors[0])).toMatch(/Schedule "zoned".*cannot read it.*Mars\/Olympus_Mons.*left for a runner that can/)
    // left as it was, for a runner that can read it
    expect((await runner.schedules.list())[1]).toMatchObject({ id: 'zoned', nextRunAt: new Date(T0 - 60_000).toISOString() })
  } finally {
    await runner.stop()
    await store.close()
  }
})
