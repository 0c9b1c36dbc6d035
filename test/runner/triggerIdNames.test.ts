// resolveTrigger with a malformed trigger id: INVALID_NAME naming the value (as `POST /triggers/:id`
// answers 400 INVALID_NAME), before any store access, on the memory store and on a real
// redis-server; a well-formed unknown id stays TRIGGER_NOT_FOUND.
import { createMemoryStreamStore, isLeanflowError } from '@leanflow/core'
import { createRunner, defineFlow, type RunnerStore } from '@leanflow/runner'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { redisStores, type StoreFactory } from '../fixtures/runnerKit.js'

const flow = defineFlow({ name: 'noop', steps: { a: { handler: async () => 1 } } })

const stores: Array<[string, StoreFactory]> = [
  [
    'memory',
    async () => {
      const store = createMemoryStreamStore()
      return { store, cleanup: () => store.close() }
    },
  ],
  ['Redis', redisStores('trn')],
]

for (const [name, factory] of stores) {
  describe(`resolveTrigger names (${name})`, () => {
    let store: RunnerStore
    let cleanup: () => Promise<void>
    beforeEach(async () => {
      ;({ store, cleanup } = await factory())
    })
    afterEach(() => cleanup())

    it.each(['a:b', 'a b', '{x}', '*', '-lead', '', 'x'.repeat(129)])('%j is INVALID_NAME, naming the value and the rule', async (id) => {
      const runner = createRunner({ store, flows: [flow], onError: () => {} })
      const err = await runner.resolveTrigger(id, {}).then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(isLeanflowError(err, 'INVALID_NAME')).toBe(true)
      const msg = (err as Error).message
      expect(msg).toContain('trigger id')
      expect(msg).toContain(JSON.stringify(id.length > 64 ? `${id.slice(0, 64)}…` : id))
      expect(msg).toMatch(/A-Z a-z 0-9/)
    })

    it('a non-string id is INVALID_NAME; a well-formed unknown id is TRIGGER_NOT_FOUND', async () => {
      const runner = createRunner({ store, flows: [flow], onError: () => {} })
      for (const bad of [undefined, null, 42, {}]) {
        const err = await runner.resolveTrigger(bad as never, {}).catch((e: unknown) => e)
        expect(isLeanflowError(err, 'INVALID_NAME')).toBe(true)
      }
      const err = await runner.resolveTrigger('nope123', {}).catch((e: unknown) => e)
      expect(isLeanflowError(err, 'TRIGGER_NOT_FOUND')).toBe(true)
    })
  })
}
