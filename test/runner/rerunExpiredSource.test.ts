// A rerun's idempotency key outlives its source run: a repeat of the rerun with the same key after
// the source run expired answers the first rerun (the key names it while it is kept), never
// RUN_NOT_FOUND — on the memory store and a real redis-server, with a short retention.
import { createMemoryStreamStore } from '@leanflow/core'
import { createRedisStreamStore } from '@leanflow/redis'
import { createRunner, defineFlow, type Runner, type RunnerStore } from '@leanflow/runner'
import { afterEach, describe, expect, it } from 'vitest'
import { useRedisServer } from '../helpers/redisServer.js'
import { waitFor } from '../helpers/waitFor.js'

const RETENTION_MS = 400
const redis = useRedisServer()
let hold = false

/** `b` waits on a trigger while `hold` is set: a rerun from `b` stays awaiting while its source expires. */
const flow = defineFlow({
  name: 'held',
  steps: {
    a: { handler: async () => 'a' },
    b: {
      needs: ['a'],
      handler: async (_i, ctx) => {
        if (hold) await (await ctx.await.trigger({ type: 'hold' })).wait()
        return 'b'
      },
    },
  },
})

const targets: Array<[string, () => RunnerStore]> = [
  ['memory store', () => createMemoryStreamStore({ retention: RETENTION_MS })],
  ['Redis', () => createRedisStreamStore({ url: redis.url, prefix: `rx${Date.now()}`, retention: RETENTION_MS })],
]

for (const [label, make] of targets) {
  describe(`a keyed rerun repeated after its source expired (${label})`, () => {
    let runner: Runner
    let store: RunnerStore
    afterEach(async () => {
      await runner.stop()
      await (store as { close?: () => Promise<void> }).close?.()
    })

    it('answers the first rerun while it is kept; RUN_NOT_FOUND without a key', async () => {
      store = make()
      runner = createRunner({ store, flows: [flow], onError: () => {} })
      await runner.start()
      hold = false
      const { runId: source } = await runner.startFlow('held', {})
      await runner.result(source, { timeout: '10s' })
      hold = true
      const first = await runner.rerun(source, { from: 'b', idempotencyKey: 'again-1' })
      await waitFor(async () => (await store.getRunState(first.runId))?.doc !== undefined, 'the rerun written')
      await waitFor(async () => (await store.getRunState(source)) === null, 'the source run expired', 10_000)
      expect(await store.getRunState(first.runId)).not.toBeNull()
      expect(await runner.rerun(source, { from: 'b', idempotencyKey: 'again-1' })).toEqual(first)
      await expect(runner.rerun(source, { from: 'b' })).rejects.toMatchObject({ code: 'RUN_NOT_FOUND' })
      await expect(runner.rerun(source, { from: 'b', idempotencyKey: 'another' })).rejects.toMatchObject({ code: 'RUN_NOT_FOUND' })
      await runner.cancel(first.runId)
    })
  })
}
