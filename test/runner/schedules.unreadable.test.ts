import { createMemoryStreamStore, type EventRecord } from '@leanflow/core'
import { createRedisStreamStore } from '@leanflow/redis'
import { createRunner, defineFlow } from '@leanflow/runner'
import { describe, expect, it } from 'vitest'
import { useRedisServer } from '../helpers/redisServer.js'
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

// A schedule field written by hand into Redis that is no schedule at all (not
// `<version>|<nextRunAt>|<JSON>`): the look reports it once and goes on with the schedules due
// after it; `list()` skips it (as a read skips a malformed stream entry); reading it alone, or
// writing over it, is INTERNAL naming it and how to remove it.
describe('on Redis', () => {
  const redis = useRedisServer({ client: true })

  it('a schedule stored corrupt is reported once and skipped; the schedules due after it still fire', async () => {
    const store = createRedisStreamStore({ url: redis.url, prefix: 'corrupt' })
    const flow = defineFlow({ name: 'sync', steps: { a: { handler: async () => 1 } } })
    const errors: unknown[] = []
    const runner = createRunner({ store, flows: [flow], onError: (e) => errors.push(e) })
    try {
      const set = await runner.schedules.set({ id: 'second', flow: 'sync', every: '1s' })
      // due long before it, so the due index hands it out first, on every look
      await redis.client.hset('corrupt:{schedules}:docs', 'broken', 'not a schedule')
      await redis.client.zadd('corrupt:{schedules}:due', Date.now() - 60_000, 'broken')
      expect((await runner.schedules.list()).map((s) => s.id)).toEqual(['second'])
      await expect(store.getSchedule('broken')).rejects.toMatchObject({
        code: 'INTERNAL',
        message: expect.stringMatching(/Schedule "broken" is stored corrupt .*HDEL corrupt:\{schedules\}:docs broken/),
      })
      await expect(runner.schedules.pause('broken')).rejects.toMatchObject({ code: 'INTERNAL' })
      await runner.start()
      await waitFor(async () => (await store.listRuns('sync', { limit: 10 })).length >= 2, 'two ticks of the schedule after it', 8000)
      const [started] = (await store.read((await store.listRuns('sync', { limit: 1 }))[0]?.runId as string, { limit: 1 })) as EventRecord[]
      expect(started?.data).toMatchObject({ schedule: { id: 'second' } })
      expect(set.id).toBe('second')
      expect(errors).toHaveLength(1)
      expect(String(errors[0])).toMatch(/Schedule "broken" is stored corrupt/)
    } finally {
      await runner.stop()
      await store.close()
    }
  })
})
