// The idempotency key of a start that a singleton skipped, or a debounce window folded, names the
// run it was answered with (DESIGN.md: the same key returns the same run). Before, a skipped
// start wrote nothing, its key included: once the active run ended, a retry of the same call (a
// client resending after a lost reply) started a new run instead of answering the first one; and
// a folded call's retry lost its `deduplicated: true`.
import { createRedisStreamStore } from '@leanflow/redis'
import { createRunner, defineFlow } from '@leanflow/runner'
import { Redis } from 'ioredis'
import { expect, it } from 'vitest'
import { deferred, waitEnd } from '../fixtures/runnerKit.js'
import { describeOnStores } from '../fixtures/runnerOnStores.js'

let hold = deferred()
const sync = defineFlow({
  name: 'sync',
  singleton: { key: (input: { user: string }) => input.user },
  steps: { a: { handler: async () => hold.promise } },
})
const notify = defineFlow({
  name: 'notify',
  debounce: { period: '300ms', key: (input: { user: string; n: number }) => input.user },
  steps: { send: { handler: async (input: { user: string; n: number }) => input.n } },
})

describeOnStores(
  { flows: [sync, notify], prefix: 'dedupkeys' },
  (runner, store) => {
    it('singleton skip: a retry with the key answers the run it was skipped to, also after that run ended', async () => {
      hold = deferred()
      const active = await runner().startFlow('sync', { user: 'ann' }, { idempotencyKey: 'first' })
      const skipped = await runner().startFlow('sync', { user: 'ann' }, { idempotencyKey: 'retry-me' })
      expect(skipped).toEqual({ runId: active.runId, deduplicated: true })
      // while the run is active, and once it ended: the same answer, no new run
      expect(await runner().startFlow('sync', { user: 'ann' }, { idempotencyKey: 'retry-me' })).toEqual(skipped)
      hold.resolve()
      await waitEnd(store(), active.runId)
      expect(await runner().startFlow('sync', { user: 'ann' }, { idempotencyKey: 'retry-me' })).toEqual(skipped)
      expect(await runner().startFlow('sync', { user: 'ann' }, { idempotencyKey: 'first' })).toEqual({ runId: active.runId })
      expect((await store().listRuns('sync')).map((r) => r.runId)).toEqual([active.runId])
      // a new key starts a new run now that the key is free
      hold = deferred()
      const next = await runner().startFlow('sync', { user: 'ann' }, { idempotencyKey: 'new' })
      expect(next.runId).not.toBe(active.runId)
      expect(next.deduplicated).toBeUndefined()
      hold.resolve()
      await waitEnd(store(), next.runId)
    })

    it('debounce: a retry of a folded call answers its run with deduplicated: true, the first call without', async () => {
      const first = await runner().startFlow('notify', { user: 'bob', n: 1 }, { idempotencyKey: 'n1' })
      const folded = await runner().startFlow('notify', { user: 'bob', n: 2 }, { idempotencyKey: 'n2' })
      expect(folded).toEqual({ runId: first.runId, deduplicated: true })
      expect(await runner().startFlow('notify', { user: 'bob', n: 2 }, { idempotencyKey: 'n2' })).toEqual(folded)
      expect(await runner().result(first.runId, { timeout: '10s' })).toEqual({ send: 2 })
      expect(await runner().startFlow('notify', { user: 'bob', n: 2 }, { idempotencyKey: 'n2' })).toEqual(folded)
      expect(await runner().startFlow('notify', { user: 'bob', n: 1 }, { idempotencyKey: 'n1' })).toEqual(first)
      // the retries folded nothing more: one flow.debounced (the second call's)
      const kinds = (await store().read(first.runId)).map((e) => e.kind)
      expect(kinds.filter((k) => k === 'flow.debounced')).toHaveLength(1)
      expect((await store().listRuns('notify')).map((r) => r.runId)).toEqual([first.runId])
    })

    it('racing repeats of one call (same key) all get the first answer; the run is folded into once at most', async () => {
      const calls = (flow: string, input: object) =>
        Promise.all(Array.from({ length: 8 }, () => runner().startFlow(flow, input, { idempotencyKey: `race-${flow}` })))
      hold = deferred()
      const skipped = await calls('sync', { user: 'dee' })
      expect(new Set(skipped.map((a) => JSON.stringify(a))).size).toBe(1)
      expect(skipped[0]?.deduplicated).toBeUndefined()
      const folded = await calls('notify', { user: 'dee', n: 1 })
      expect(new Set(folded.map((a) => JSON.stringify(a))).size).toBe(1)
      expect(folded[0]?.deduplicated).toBeUndefined()
      const runId = folded[0]?.runId as string
      expect(await runner().result(runId, { timeout: '10s' })).toEqual({ send: 1 })
      const kinds = (await store().read(runId)).map((e) => e.kind)
      expect(kinds.filter((k) => k === 'flow.debounced').length).toBeLessThanOrEqual(1)
      hold.resolve()
      await waitEnd(store(), skipped[0]?.runId as string)
    })
  },
  (redis) => {
    it("a deduplicated call's key is kept as long as an ended run (retention), not the 30 days of a running run's key", async () => {
      const client = new Redis(redis.url)
      const ttlStore = createRedisStreamStore({ url: redis.url, prefix: 'dedupttl', retention: '1h' })
      try {
        const runner = createRunner({ store: ttlStore, flows: [sync, notify] })
        hold = deferred()
        const active = await runner.startFlow('sync', { user: 'cy' }, { idempotencyKey: 'own' })
        await runner.startFlow('sync', { user: 'cy' }, { idempotencyKey: 'skipped' })
        await runner.startFlow('notify', { user: 'cy', n: 1 }, { idempotencyKey: 'opened' })
        await runner.startFlow('notify', { user: 'cy', n: 2 }, { idempotencyKey: 'folded' })
        const ttl = (flow: string, key: string) => client.pttl(`dedupttl:start:{${flow}/${key}}`)
        for (const [flow, key] of [
          ['sync', 'skipped'],
          ['notify', 'folded'],
        ] as const) {
          expect(await ttl(flow, key)).toBeGreaterThan(3_500_000)
          expect(await ttl(flow, key)).toBeLessThanOrEqual(3_600_000)
        }
        // the keys that started their runs keep the running run's lifetime until it ends
        expect(await ttl('sync', 'own')).toBeGreaterThan(86_400_000)
        expect(await ttl('notify', 'opened')).toBeGreaterThan(86_400_000)
        hold.resolve()
        await runner.cancel(active.runId).catch(() => {})
      } finally {
        await ttlStore.close()
        client.disconnect()
      }
    })
  },
)
