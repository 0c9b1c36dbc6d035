/**
 * Faults with the runner on BullMQ and real worker processes:
 * F1 (SIGKILL after step.started), F2 (SIGKILL after a ctx.do effect),
 * F5 (redis-server SIGKILLed and restarted), `stop()` after a clean SHUTDOWN of Redis.
 * The lease faults (stalls, freezes) are in bullmq.lease.test.ts, drains and clocks in bullmq.drain.test.ts.
 */

import { createBullMQQueue } from '@leanflow/bullmq'
import { reduceFlow } from '@leanflow/core'
import { createRedisStreamStore } from '@leanflow/redis'
import { createRunner, defineFlow } from '@leanflow/runner'
import { sleep } from '@leanflow/testing'
import { Redis } from 'ioredis'
import { describe, expect, it } from 'vitest'
import { startRedis } from '../helpers/redisServer.js'
import { waitFor } from '../helpers/waitFor.js'
import { allOnes, FAST, isCheckpoint, ready, useBullmqFaults } from '../workers/bullmqFaults.js'
import { checkRunLog, waitForRuns } from '../workers/checkRunLog.js'
import { effectKey } from '../workers/flows.js'

const { redis, servers, setup, effectCounts } = useBullmqFaults()
// Victims run one step at a time (CONCURRENCY 1), so the kill lands exactly at
// the checkpoint: a step killed between its effect and the recording of the
// effect's result would rightly run the effect again (at-least-once).

describe('runner on BullMQ: worker and server faults', () => {
  it('F1: a worker SIGKILLed right after step.started; another worker finishes the step; the runs complete', async () => {
    const { id, store, spawn, start } = setup(redis, FAST)
    const victim = spawn({ HANG_STEP: 'd', HANG_AT: 'started', CONCURRENCY: '1' })
    await ready(victim)
    const runIds = await start(3)
    const cp = await victim.waitFor(isCheckpoint('started'), 'checkpoint after step.started of d')
    const before = await store.read(cp.runId as string, { limit: 1000 })
    expect(before.some((e) => e.kind === 'step.started' && e.step === 'd')).toBe(true)
    victim.kill('SIGKILL')
    await victim.exited
    const rescuer = spawn()
    await ready(rescuer)
    const logs = await waitForRuns(store, runIds, 60_000)
    expect([...logs.values()].flatMap(checkRunLog)).toEqual([])
    // No event written before the crash was lost.
    const after = logs.get(cp.runId as string) ?? []
    for (const e of before) expect(after.map((x) => x.id)).toContain(e.id)
    // The take-over is in the log: the same attempt started again, marked recovered.
    const startedD = after.filter((e) => e.kind === 'step.started' && e.step === 'd')
    expect(startedD.map((e) => [e.meta?.attempt, (e.data as { recovered?: boolean }).recovered ?? false])).toEqual([
      [1, false],
      [1, true],
    ])
    expect(reduceFlow(after).steps.d).toMatchObject({ status: 'completed', attempt: 1, recoveries: 1 })
    expect(allOnes(await effectCounts(id, runIds))).toEqual([])
  })
  it('F2: a worker SIGKILLed after a ctx.do effect; the effect does not run again', async () => {
    const { id, store, spawn, start } = setup(redis, FAST)
    const victim = spawn({ HANG_STEP: 'b', HANG_AT: 'effect', CONCURRENCY: '1' })
    await ready(victim)
    const runIds = await start(3)
    const cp = await victim.waitFor(isCheckpoint('effect'), 'checkpoint after the effect of b')
    expect(await redis.client.get(effectKey(id, cp.runId as string, 'b'))).toBe('1')
    victim.kill('SIGKILL')
    await victim.exited
    const rescuer = spawn()
    await ready(rescuer)
    const logs = await waitForRuns(store, runIds, 60_000)
    expect([...logs.values()].flatMap(checkRunLog)).toEqual([])
    expect(allOnes(await effectCounts(id, runIds))).toEqual([])
  })
  it('F5: redis-server SIGKILLed and restarted (AOF) while runs are in flight; all complete', async () => {
    const server = await startRedis({ appendonly: true, args: ['--hz', '100'] })
    servers.push(server)
    const { store, spawn, start } = setup(server, { ...FAST, QUIET: process.env.LF_VERBOSE ? '0' : '1' })
    const workers = [spawn(), spawn()]
    await Promise.all(workers.map(ready))
    const runIds = await start(40, { sleepMs: 300 })
    // Some progress first, so the crash lands mid-run.
    const firstRun = runIds[0] as string
    await waitFor(
      async () => (await store.read(firstRun, { limit: 100 })).some((e) => e.kind === 'step.completed'),
      'progress before the crash',
      30_000,
    )
    await server.kill()
    await new Promise((r) => setTimeout(r, 500))
    await server.restart()
    const logs = await waitForRuns(store, runIds, 90_000)
    expect([...logs.values()].flatMap(checkRunLog)).toEqual([])
  })
  it('F18/F22: runner.stop() after a clean SHUTDOWN of its Redis returns in bounded time', async () => {
    const server = await startRedis()
    servers.push(server)
    const store = createRedisStreamStore({ url: server.url, prefix: 'shut', commandTimeout: 300 })
    const lost: Error[] = []
    const queue = createBullMQQueue({ url: server.url, queueName: 'shut', commandTimeout: 300, onError: (err) => lost.push(err) })
    const flow = defineFlow({ name: 'one', steps: { only: { handler: async () => 1 } } })
    const runner = createRunner({ store, queue, flows: [flow], onError: () => {} })
    await runner.start()
    const { runId } = await runner.startFlow('one', {})
    await waitForRuns(store, [runId], 10_000)
    const admin = new Redis(server.url, { maxRetriesPerRequest: 0, retryStrategy: () => null })
    admin.on('error', () => {})
    await admin.call('SHUTDOWN', 'NOSAVE').catch(() => {}) // the server closes the connection: no reply
    admin.disconnect()
    // the worker's connections are reconnecting (ioredis 5 then never ends one on disconnect)
    await waitFor(() => lost.some((err) => /ECONNREFUSED/.test(err.message)), 'the queue trying to reconnect')
    const outcome = await Promise.race([runner.stop().then(() => 'stopped'), sleep(3000).then(() => 'still stopping')])
    expect(outcome).toBe('stopped')
    expect(await Promise.race([queue.close().then(() => 'closed'), sleep(1000).then(() => 'still closing')])).toBe('closed')
    await store.close()
  })
})
