// A deploy that changes a flow's concurrency limit reaches the runs already queued: a key's limit
// is the one its latest ask gave.
// Before, each queued run kept the limit it was queued under: raised 1 → 4, the backlog still ran
// one at a time; lowered 4 → 1, four ran at once for as long as the backlog lasted (found by a
// flow-control probe). On a real redis-server; the queue outlives the first runner.
import { createRedisStreamStore } from '@leanflow/redis'
import { createMemoryQueue, createRunner, defineFlow } from '@leanflow/runner'
import { expect, it } from 'vitest'
import { useRedisServer } from '../helpers/redisServer.js'
import { waitFor } from '../helpers/waitFor.js'

const redis = useRedisServer()

function flowAt(limit: number, stats: { now: number; max: number }) {
  return defineFlow({
    name: 'tenantjob',
    concurrency: { limit, key: () => 'k' },
    steps: {
      a: {
        handler: async () => {
          stats.now++
          stats.max = Math.max(stats.max, stats.now)
          await new Promise((r) => setTimeout(r, 150))
          stats.now--
          return null
        },
      },
    },
  })
}

// (lowered, the store's conformance case shows it: the runs the old limit admitted before the
// deploy's first ask still run, and no more than the new limit is admitted after)
for (const [from, to] of [[1, 4]] as const) {
  it(`a limit changed from ${from} to ${to} applies to the runs queued under the old one`, async () => {
    const store = createRedisStreamStore({ url: redis.url, prefix: `lch${from}${to}` })
    const queue = createMemoryQueue()
    const stats = { now: 0, max: 0 }
    const before = createRunner({ store, queue, flows: [flowAt(from, stats)], concurrency: 10, onError: () => {} })
    await before.start()
    const backlog = []
    for (let i = 0; i < 16; i++) backlog.push((await before.startFlow('tenantjob', { i })).runId)
    await waitFor(() => stats.now === from, 'the old limit full')
    await before.stop()
    // the new deploy: its first start asks with the new limit
    const after = createRunner({ store, queue, flows: [flowAt(to, stats)], concurrency: 10, onError: () => {} })
    try {
      await after.start()
      stats.max = stats.now
      const { runId } = await after.startFlow('tenantjob', { i: 'new' })
      for (const id of [...backlog, runId]) await after.result(id, { timeout: '30s' })
      // the raised limit is used by the backlog (it ran one at a time), and never exceeded
      expect(stats.max).toBe(to)
    } finally {
      await after.stop()
      await store.close()
    }
  }, 60_000)
}
