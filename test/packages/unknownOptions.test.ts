// A misspelt option of a factory (`concurrancy`, `basepath`, `retension`) is refused with
// INVALID_ARGUMENT naming it and the options there are, before anything is made or connected:
// it was ignored without a word, and the runner, handler or store ran on its default.
import { createBullMQQueue } from '@leanflow/bullmq'
import { createMemoryStreamStore, isLeanflowError } from '@leanflow/core'
import { createDashboard } from '@leanflow/dashboard'
import { createHandler } from '@leanflow/http'
import { createRedisStreamStore } from '@leanflow/redis'
import { createMemoryQueue, createRunner } from '@leanflow/runner'
import { expect, it } from 'vitest'

/** The message of the INVALID_ARGUMENT `make` throws. */
function refusal(make: () => unknown): string {
  try {
    make()
  } catch (err) {
    expect(isLeanflowError(err, 'INVALID_ARGUMENT'), String(err)).toBe(true)
    return (err as Error).message
  }
  throw new Error('not refused')
}

it('every factory refuses an option it does not have, naming it and the ones it has', () => {
  const store = createMemoryStreamStore()
  const url = 'redis://127.0.0.1:1' // never connected: the options are checked first
  expect(refusal(() => createRunner({ store, concurrancy: 5 } as never))).toMatch(
    /^createRunner has an unknown option "concurrancy": pass only store, queue, flows, concurrency/,
  )
  expect(refusal(() => createHandler({ store, basepath: '/api' } as never))).toMatch(
    /^createHandler has an unknown option "basepath": pass only store, runner, basePath/,
  )
  expect(refusal(() => createMemoryStreamStore({ retension: '1d' } as never))).toMatch(
    /unknown option "retension": pass only bus, retention/,
  )
  expect(refusal(() => createRedisStreamStore({ url, retension: '1d' } as never))).toMatch(
    /unknown option "retension": pass only url, redis, prefix/,
  )
  expect(refusal(() => createMemoryQueue({ redeliverDelay: 10 } as never))).toMatch(
    /unknown option "redeliverDelay": pass only redeliverDelayMs/,
  )
  expect(refusal(() => createBullMQQueue({ url, queuename: 'q' } as never))).toMatch(
    /^createBullMQQueue has an unknown option "queuename": pass only url, connection, prefix, queueName/,
  )
  expect(refusal(() => createDashboard('abc' as never))).toMatch(/^createDashboard options must be an object/)
  expect(refusal(() => createDashboard({ apibase: '/api' } as never))).toMatch(
    /^createDashboard has an unknown option "apibase": pass only apiBase, basePath, title/,
  )
})

it('the options each factory has are all taken', async () => {
  const store = createMemoryStreamStore({
    bus: undefined,
    retention: '1d',
    maxEventBytes: 1024 * 1024,
    maxEventsPerRun: 100,
    now: Date.now,
  })
  const queue = createMemoryQueue({ redeliverDelayMs: 100, maxRedeliverDelayMs: 1000, onError: () => {} })
  const runner = createRunner({
    store,
    queue,
    flows: [],
    concurrency: 2,
    onError: () => {},
    cancelPollMs: 1000,
    drainTimeoutMs: 1000,
    workerId: 'w1',
    clock: Date.now,
    slotLeaseMs: 30_000,
    maxPendingAwaits: 100,
  })
  createHandler({
    store,
    runner,
    basePath: '/flows',
    authorize: () => true,
    cors: { origin: '*' },
    triggerSecret: 'secret',
    maxBodyBytes: 1024,
    heartbeatMs: 15_000,
    maxQueuedFrames: 100,
    maxQueuedBytes: 1024 * 1024,
    maxStreams: 10,
    retryMs: 1000,
    onError: () => {},
  })
  createDashboard({ apiBase: '/flows', basePath: '/dashboard', title: 'x' })
  await runner.stop()
  await store.close()
})
