/**
 * A `publishEvent` whose process dies mid-way, on one real redis-server and BullMQ: right after the
 * event is stored (no watcher matched yet), or right after the match that resolved a waiting
 * step's await was written (its resume job not queued). Nobody publishes again, and the await has
 * no timeout: the publish's `match` job (queued before the event, 5 s ahead) matches the kind's
 * watchers again, so the step resumes once. The same for a `resolveTrigger` killed right after
 * its write: its `trigger` job queues the resume again. Before, the run waited for good (unless
 * the caller, who got no answer, asked again). Workers are `test/workers/versionWorker.ts` (its
 * `pay` flow awaits a `paid` event, its `approve` flow a trigger).
 */

import type { RedisStreamStore } from '@leanflow/redis'
import { describe, expect, it } from 'vitest'
import { useRedisServer } from '../helpers/redisServer.js'
import { waitFor } from '../helpers/waitFor.js'
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
  for (const r of runs) await suspended(store, r.runId, 'charge')
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

/** A run of `approve` waiting on its trigger, resolved by a process killed right after the write: the run resumes once. */
async function killedResolve() {
  const { id, store, producer, spawn, ready } = fleet.setup()
  const worker = spawn({ PATCHED: '0' })
  const doomed = spawn({ PATCHED: '0', KILL: 'resolve:matched' })
  await ready([worker, doomed])
  const { runId } = await producer.startFlow('approve', {})
  await suspended(store, runId, 'wait')
  const announced = (await store.read(runId, { limit: 100 })).find((e) => e.kind === 'step.await.trigger')
  const triggerId = (announced?.data as { triggerId?: string } | undefined)?.triggerId ?? ''
  doomed.proc.send({ type: 'resolve', triggerId, data: { ok: true } })
  await doomed.waitFor((m) => m.type === 'checkpoint', 'the resolve written')
  expect((await doomed.exited).signal).toBe('SIGKILL')
  expect(await producer.result(runId, { timeout: '20s' })).toEqual({ wait: true })
  const log = await store.read(runId, { limit: 1000 })
  expect(log.filter((e) => e.kind === 'step.resumed')).toHaveLength(1)
  expect(await redis.client.lrange(`${id}:effects:${runId}`, 0, -1)).toEqual(['receipt'])
}

/** Waits until `step` of run `runId` is suspended (a resolve before that resumes nothing: the running step goes on). */
async function suspended(store: RedisStreamStore, runId: string, step: string) {
  const status = async () =>
    ((await store.getRunState(runId))?.doc as { steps?: Record<string, { status?: string }> } | undefined)?.steps?.[step]?.status
  await waitFor(async () => (await status()) === 'suspended', `step ${step} of run ${runId} suspended`, 20_000)
}

describe('a publishEvent or a resolveTrigger through a SIGKILL', () => {
  // both at once, each on its own store and queue: the match jobs come 5 s on
  it('killed right after the event was stored, or right after it was matched (the resume job not queued), or right after a trigger was resolved: the waiting runs resume once, with no second call', async () => {
    await Promise.all([killedPublish('stored'), killedPublish('matched'), killedResolve()])
  }, 60_000)
})
