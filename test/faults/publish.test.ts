/**
 * A `publishEvent` whose process dies mid-way, on one real redis-server and BullMQ: right after the
 * event is stored (no watcher matched yet), or right after the match that resolved a waiting
 * step's await was written (its resume job not queued). Nobody publishes again, and the await has
 * no timeout: the publish's `match` job (queued before the event, 5 s ahead) matches the kind's
 * watchers again, so the step resumes once. Before, the run waited for good. Workers are
 * `test/workers/versionWorker.ts` (its `pay` flow awaits a `paid` event).
 */
import { describe, expect, it } from 'vitest'
import { waitKind } from '../fixtures/runnerKit.js'
import { useRedisServer } from '../helpers/redisServer.js'
import { versionFlows } from '../workers/versionFlows.js'
import { useWorkerFleet } from '../workers/workerFleet.js'

const redis = useRedisServer({ args: ['--hz', '100'], client: true })
const fleet = useWorkerFleet({ redis, prefix: 'pub', worker: 'versionWorker.ts', flows: (id) => versionFlows(redis.client, id) })

/** Two runs of `pay` waiting on `paid`, and a publisher killed at `at`: each run resumes once and completes. */
async function killedPublish(at: 'stored' | 'matched') {
  const { id, store, producer, spawn, ready } = fleet.setup()
  const worker = spawn({ PATCHED: '0' })
  const doomed = spawn({ PATCHED: '0', KILL: `publish:${at}` })
  await ready([worker, doomed])
  const runs = await Promise.all([producer.startFlow('pay', {}), producer.startFlow('pay', {})])
  for (const r of runs) await waitKind(store, r.runId, 'step.await.event')
  doomed.proc.send({ type: 'publish', kind: 'paid', data: { ok: true } })
  await doomed.waitFor((m) => m.type === 'checkpoint', `the publish ${at}`)
  expect((await doomed.exited).signal).toBe('SIGKILL')
  for (const r of runs) {
    expect(await producer.result(r.runId, { timeout: '20s' })).toEqual({ charge: true })
    const log = await store.read(r.runId, { limit: 1000 })
    expect(log.filter((e) => e.kind === 'step.resumed')).toHaveLength(1)
    expect(await redis.client.lrange(`${id}:effects:${r.runId}`, 0, -1)).toEqual(['receipt'])
  }
}

describe('a publishEvent through a SIGKILL', () => {
  // both at once, each on its own store and queue: the match jobs come 5 s on
  it('killed right after the event was stored, or right after it was matched (the resume job not queued): the waiting runs resume once, with no second publish', async () => {
    await Promise.all([killedPublish('stored'), killedPublish('matched')])
  }, 60_000)
})
