// Stored schedules of a flow no started runner holds (a service that is down, or retired) are left
// due for a runner that holds it; past 2,000 of them a runner's look never reached its own
// schedules, which fired no more, silently (found by a schedules probe: 2,100 left, 0 runs of the
// runner's own in 8 s). A look now pages past them in growing pages, and passes over a left
// schedule for a few seconds without reading it again. On a real redis-server.
import { createRedisStreamStore } from '@leanflow/redis'
import { createRunner, defineFlow } from '@leanflow/runner'
import { expect, it } from 'vitest'
import { useRedisServer } from '../helpers/redisServer.js'
import { waitFor } from '../helpers/waitFor.js'

const redis = useRedisServer()
const other = defineFlow({ name: 'other', steps: { a: { handler: async () => null } } })
const tick = defineFlow({ name: 'tick', steps: { a: { handler: async () => null } } })

it("2,100 due schedules of a flow no runner holds do not hide a runner's own schedule", async () => {
  const store = createRedisStreamStore({ url: redis.url, prefix: 'leftmany' })
  // the retired service stored them, then went away
  const retired = createRunner({ store, flows: [other], onError: () => {} })
  for (let i = 0; i < 2100; i += 100)
    await Promise.all(Array.from({ length: 100 }, (_, k) => retired.schedules.set({ id: `o${i + k}`, flow: 'other', every: '1s' })))
  await retired.stop()
  await new Promise((r) => setTimeout(r, 1100)) // all of them due
  const runner = createRunner({ store, flows: [tick], onError: () => {} })
  try {
    await runner.schedules.set({ id: 'zz-tick', flow: 'tick', every: '1s' })
    await runner.start()
    await waitFor(async () => (await store.listRuns('tick')).length >= 2, "the runner's own schedule fires", 10_000)
    // and the left ones are still there, due, for a runner that holds their flow
    expect((await store.dueSchedules(Date.now(), 10)).due.length).toBe(10)
    expect(await store.listRuns('other')).toEqual([])
  } finally {
    await runner.stop()
    await store.close()
  }
}, 40_000)
