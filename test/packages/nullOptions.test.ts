// The factories given null, no options or options that are no object (plain JavaScript, a
// config read as `null`, a forgotten argument): each refuses with a LeanflowError
// INVALID_ARGUMENT that names the factory and what to pass, never a raw TypeError
// ("Cannot destructure property 'store' of 'options' as it is null"). Companion of
// undefinedOptions.test.ts (undefined options take the defaults) and test/runner/badArguments.test.ts.
import { createBullMQQueue } from '@leanflow/bullmq'
import { createEventManager, createFlowWiring, createMemoryStreamStore, EventBus, isLeanflowError } from '@leanflow/core'
import { createHandler } from '@leanflow/http'
import { createRedisStreamStore } from '@leanflow/redis'
import { createMemoryQueue, createRunner } from '@leanflow/runner'
import { describe, expect, it } from 'vitest'

/** The error `make` throws: a LeanflowError INVALID_ARGUMENT whose message matches `message`. */
function expectRefused(make: () => unknown, message: RegExp): void {
  let err: unknown
  try {
    make()
  } catch (e) {
    err = e
  }
  expect(isLeanflowError(err), `expected a LeanflowError, got ${String(err)}`).toBe(true)
  expect((err as { code: string }).code).toBe('INVALID_ARGUMENT')
  expect((err as Error).message).toMatch(message)
}

const call =
  <A extends unknown[]>(f: (...args: A) => unknown, ...args: unknown[]) =>
  () =>
    f(...(args as A))

describe('factories given null, nothing, or options that are no object', () => {
  it('createRunner and createHandler: INVALID_ARGUMENT naming the store they need', () => {
    for (const args of [[], [null]]) {
      expectRefused(call(createRunner, ...args), /createRunner needs a store/)
      expectRefused(call(createHandler, ...args), /createHandler needs a store/)
    }
  })

  it('createFlowWiring and createEventManager: INVALID_ARGUMENT naming the bus (and store) they need', () => {
    for (const args of [[], [null], [{}]]) {
      expectRefused(call(createFlowWiring, ...args), /createFlowWiring needs \{ bus, store \}/)
      expectRefused(call(createEventManager, ...args), /createEventManager needs \{ bus \}/)
    }
    expectRefused(call(createFlowWiring, { bus: new EventBus() }), /createFlowWiring needs \{ bus, store \}/)
  })

  it('createMemoryStreamStore, createRedisStreamStore, createMemoryQueue and createBullMQQueue: INVALID_ARGUMENT, no connection opened', () => {
    for (const bad of [null, 'x']) {
      expectRefused(call(createMemoryStreamStore, bad), /createMemoryStreamStore options must be an object/)
      expectRefused(call(createRedisStreamStore, bad), /createRedisStreamStore options must be an object/)
      expectRefused(call(createMemoryQueue, bad), /createMemoryQueue options must be an object/)
    }
    expectRefused(call(createRedisStreamStore), /createRedisStreamStore needs `url`/)
    // both: which one it would use is a guess (the client; the url was ignored without a word)
    expectRefused(
      call(createRedisStreamStore, { url: 'redis://127.0.0.1:1', redis: {} }),
      /^createRedisStreamStore takes `url` or `redis`, not both: pass one/,
    )
    expectRefused(call(createBullMQQueue, null), /createBullMQQueue needs exactly one of `url`/)
  })

  it('the stores refuse a bus without publish() and a clock that is no function, at once (not as a TypeError after an append stored its event)', () => {
    for (const bus of [5, 'bus', {}, { publish: 1 }]) {
      expectRefused(call(createMemoryStreamStore, { bus }), /bus/)
      expectRefused(call(createRedisStreamStore, { url: 'redis://127.0.0.1:1', bus }), /bus/)
    }
    for (const now of [5, 'now', {}]) expectRefused(call(createMemoryStreamStore, { now }), /now/)
  })
})
