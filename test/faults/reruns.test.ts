/**
 * A rerun's start through a SIGKILL on one real redis-server (design/versions-and-reruns.md):
 * the process that reruns dies right before or right after the rerun's run is written (its
 * copied steps' `step.completed` and its first jobs not written yet). The rerun then either does
 * not exist, or ends with each copy once, right after `flow.started`, and `from` and its
 * descendants run once. Workers are `test/workers/versionWorker.ts` on BullMQ.
 */
import type { EventRecord } from '@leanflow/core'
import type { RedisStreamStore } from '@leanflow/redis'
import { describe, expect, it } from 'vitest'
import { useRedisServer } from '../helpers/redisServer.js'
import { versionFlows } from '../workers/versionFlows.js'
import { useWorkerFleet } from '../workers/workerFleet.js'

const redis = useRedisServer({ args: ['--hz', '100'], client: true })
const fleet = useWorkerFleet({ redis, prefix: 'rr', worker: 'versionWorker.ts', flows: (id) => versionFlows(redis.client, id) })

const logOf = (store: RedisStreamStore, runId: string) => store.read(runId, { limit: 10_000 })

/** A failed `pipeline` run (b fails; a and d completed) and a fleet to rerun it on. */
async function failedPipeline() {
  const { id, store, producer, spawn: fork, ready } = fleet.setup()
  const spawn = async (env: Record<string, string> = {}) => {
    const w = fork(env)
    await ready([w])
    return w
  }
  await redis.client.set(`${id}:fail`, '1')
  const first = await spawn()
  const { runId: failed } = await producer.startFlow('pipeline', {})
  await expect(producer.result(failed, { timeout: '20s' })).rejects.toThrow(/b fails on the flag/)
  await redis.client.del(`${id}:fail`)
  first.kill('SIGTERM')
  await first.exited
  const ran = (runId: string) => redis.client.lrange(`${id}:ran:${runId}`, 0, -1)
  return { store, producer, spawn, failed, ran }
}

/** The rerun's log: flow.started, the copies of a and d (once each, right behind it), then b and c run once. */
function expectCopiedOnce(log: EventRecord[], failed: string) {
  expect((log[0]?.data as { rerunOf?: unknown } | undefined)?.rerunOf).toEqual({ runId: failed, from: 'b' })
  const completed = log.filter((e) => e.kind === 'step.completed')
  expect(completed.map((e) => e.step).sort()).toEqual(['a', 'b', 'c', 'd'])
  const copies = log.slice(1, 3)
  expect(copies.map((e) => [e.kind, e.step, (e.data as { copied?: boolean }).copied]).sort()).toEqual([
    ['step.completed', 'a', true],
    ['step.completed', 'd', true],
  ])
  const started = log.filter((e) => e.kind === 'step.started').map((e) => e.step)
  expect(started).toEqual(['b', 'c'])
  expect(log.at(-1)?.kind).toBe('flow.completed')
}

describe('a rerun through a SIGKILL at its start', () => {
  it('killed right after its run was written (no copies, no job yet), nobody asks again: the rerun still runs, copies once, b and c once', async () => {
    const { store, producer, spawn, failed, ran } = await failedPipeline()
    const doomed = await spawn({ KILL: 'rerunCreate:after' })
    doomed.proc.send({ type: 'rerun', runId: failed, from: 'b' })
    const { runId } = (await doomed.waitFor((m) => m.type === 'checkpoint', 'the rerun written')) as { runId: string }
    expect((await doomed.exited).signal).toBe('SIGKILL')
    expect(await store.getRunState(runId)).not.toBeNull()
    await spawn()
    expect(await producer.result(runId, { timeout: '30s' })).toEqual({ c: { c: { b: 3 } } })
    expectCopiedOnce(await logOf(store, runId), failed)
    expect((await ran(runId)).map((e) => e.split(':')[1])).toEqual(['b', 'c'])
  }, 60_000)

  it('killed right after its run was written, then asked again with the same idempotency key: the same run, copies once, b and c once', async () => {
    const { store, producer, spawn, failed, ran } = await failedPipeline()
    const doomed = await spawn({ KILL: 'rerunCreate:after' })
    doomed.proc.send({ type: 'rerun', runId: failed, from: 'b', idempotencyKey: 'op-1' })
    const { runId } = (await doomed.waitFor((m) => m.type === 'checkpoint', 'the rerun written')) as { runId: string }
    await doomed.exited
    await spawn()
    expect(await producer.rerun(failed, { from: 'b', idempotencyKey: 'op-1' })).toEqual({ runId })
    expect(await producer.result(runId, { timeout: '30s' })).toEqual({ c: { c: { b: 3 } } })
    expectCopiedOnce(await logOf(store, runId), failed)
    expect((await ran(runId)).map((e) => e.split(':')[1])).toEqual(['b', 'c'])
  }, 60_000)

  it('killed right before its run was written: no rerun exists, then or later', async () => {
    const { store, spawn, failed } = await failedPipeline()
    const doomed = await spawn({ KILL: 'rerunCreate:before' })
    doomed.proc.send({ type: 'rerun', runId: failed, from: 'b' })
    const { runId } = (await doomed.waitFor((m) => m.type === 'checkpoint', 'the rerun about to be written')) as { runId: string }
    await doomed.exited
    await spawn()
    // past the time a rerun's start is picked up again by the workers
    await new Promise((r) => setTimeout(r, 8000))
    expect(await store.getRunState(runId)).toBeNull()
    expect((await store.listRuns('pipeline')).map((r) => r.runId)).toEqual([failed])
  }, 60_000)

  it('the same rerun key sent to two worker processes at once: both answer one run, which runs b and c once', async () => {
    const { store, producer, spawn, failed, ran } = await failedPipeline()
    const workers = await Promise.all([spawn(), spawn()])
    for (const w of workers) w.proc.send({ type: 'rerun', runId: failed, from: 'b', idempotencyKey: 'both' })
    const answers = await Promise.all(workers.map((w) => w.waitFor((m) => m.type === 'rerun', 'the rerun answered')))
    const runId = answers[0]?.runId as string
    expect(answers[1]?.runId).toBe(runId)
    expect(await producer.result(runId, { timeout: '30s' })).toEqual({ c: { c: { b: 3 } } })
    expectCopiedOnce(await logOf(store, runId), failed)
    expect((await ran(runId)).map((e) => e.split(':')[1])).toEqual(['b', 'c'])
    expect((await store.listRuns('pipeline')).map((r) => r.runId).sort()).toEqual([failed, runId].sort())
  }, 60_000)
})

/**
 * A `startFlow` (no idempotency key) through a SIGKILL at its write (docs/runner.md "Guarantees"):
 * the run's first jobs are queued before the run is written, so a start killed right after the
 * write leaves a run that another worker completes, each step once; one killed right before leaves
 * no run (its queued jobs find none and end).
 */
describe('a start through a SIGKILL at its write', () => {
  /** A fleet with nothing run yet, and a worker process that dies at `kill` of its next start. */
  async function doomedStart(kill: 'before' | 'after') {
    const { id, store, producer, spawn: fork, ready } = fleet.setup()
    const doomed = fork({ KILL: `startCreate:${kill}` })
    await ready([doomed])
    doomed.proc.send({ type: 'start', flow: 'pipeline', input: {} })
    const { runId } = (await doomed.waitFor(
      (m) => m.type === 'checkpoint',
      `the run ${kill === 'after' ? 'written' : 'about to be written'}`,
    )) as {
      runId: string
    }
    expect((await doomed.exited).signal).toBe('SIGKILL')
    const ran = async () => (await redis.client.lrange(`${id}:ran:${runId}`, 0, -1)).map((e) => e.split(':')[1]).sort()
    return { store, producer, spawn: fork, ready, runId, ran }
  }

  it('killed right after its run was written (nothing after it), nobody asks again: another worker completes it, each step once', async () => {
    const { store, producer, spawn, ready, runId, ran } = await doomedStart('after')
    expect((await store.getRunState(runId))?.doc).toMatchObject({ status: 'running' })
    await ready([spawn()])
    // its first jobs were queued (the doomed worker may have taken one: its lock expires in 2 s)
    expect(await producer.result(runId, { timeout: '15s' })).toEqual({ c: { c: { b: 3 } } })
    expect(await ran()).toEqual(['a', 'b', 'c', 'd'])
    const log = await logOf(store, runId)
    expect(
      log
        .filter((e) => e.kind === 'step.started')
        .map((e) => e.step)
        .sort(),
    ).toEqual(['a', 'b', 'c', 'd'])
    expect(log.filter((e) => e.kind === 'flow.started')).toHaveLength(1)
  }, 60_000)

  it('killed right before its run was written: no run exists, and no step runs', async () => {
    const { store, spawn, ready, runId, ran } = await doomedStart('before')
    await ready([spawn()])
    // the first jobs it queued come to the new worker at once, and find no run
    await new Promise((r) => setTimeout(r, 1500))
    expect(await store.getRunState(runId)).toBeNull()
    expect(await store.listRuns('pipeline')).toEqual([])
    expect(await ran()).toEqual([])
  }, 60_000)
})
