// A startFlow idempotency key lives as long as its run: kept (a repeat gives the first run) while
// the run is kept, then it expires with the run's keys (retention after the run ended), never
// later; a start with the same key after that is a fresh run under a new id, never the expired
// one's id. With and without flow control, on the memory store, a real redis-server and a
// 3-master Redis Cluster (the key is in a slot of its own: it is found before the run id is known).
import { createMemoryStreamStore } from '@leanflow/core'
import { createRedisStreamStore } from '@leanflow/redis'
import { createRunner, defineFlow, type Runner, type RunnerStore } from '@leanflow/runner'
import { type Cluster, Redis } from 'ioredis'
import { afterEach, describe, expect, it } from 'vitest'
import { kindsOf } from '../fixtures/runnerKit.js'
import { useRedisCluster } from '../helpers/redisCluster.js'
import { useRedisServer } from '../helpers/redisServer.js'
import { waitFor } from '../helpers/waitFor.js'

const RETENTION_MS = 400
const plain = defineFlow({ name: 'plain', steps: { a: { handler: async () => 'a' } } })
const limited = defineFlow({ name: 'limited', concurrency: { limit: 1 }, steps: { a: { handler: async () => 'a' } } })

interface Target {
  store: RunnerStore
  /**
   * Redis: the lookup key's remaining ms, and when it and the run's keys expire (PEXPIRETIME: unix
   * ms, the same whenever it is read, so a loaded machine's gaps between the reads do not count).
   */
  ttls?: (flowKey: string, runId: string) => Promise<{ lookup: number; lookupAt: number; runAt: number[] }>
  close(): Promise<void>
}

const redis = useRedisServer()
const cluster = useRedisCluster(3)
let n = 0

/** The Redis stores' target: `raw` reads the TTLs (a Cluster client follows the slots). */
function onRedis(make: (prefix: string) => { store: RunnerStore; raw: Redis | Cluster; close(): Promise<void> }): () => Target {
  return () => {
    const prefix = `skl${++n}`
    const { store, raw, close } = make(prefix)
    return {
      store,
      ttls: async (flowKey, runId) => {
        const at = async (key: string) => Number(await raw.call('PEXPIRETIME', key))
        const lookupKey = `${prefix}:start:{${flowKey}}`
        return {
          lookup: await raw.pttl(lookupKey),
          lookupAt: await at(lookupKey),
          runAt: await Promise.all(['state', 'events', 'meta', 'idem'].map((k) => at(`${prefix}:{${runId}}:${k}`))),
        }
      },
      close,
    }
  }
}
const targets: Array<[string, () => Target]> = [
  [
    'memory',
    () => {
      const store = createMemoryStreamStore({ retention: RETENTION_MS })
      return { store, close: () => store.close() }
    },
  ],
  [
    'Redis',
    onRedis((prefix) => {
      const store = createRedisStreamStore({ url: redis.url, prefix, retention: RETENTION_MS })
      const raw = new Redis(redis.url)
      return {
        store,
        raw,
        close: async () => {
          raw.disconnect()
          await store.close()
        },
      }
    }),
  ],
  [
    'Redis Cluster',
    onRedis((prefix) => {
      const store = createRedisStreamStore({ redis: cluster.client, prefix, retention: RETENTION_MS })
      return { store, raw: cluster.client, close: () => store.close() }
    }),
  ],
]

for (const [label, make] of targets) {
  describe(`startFlow idempotency keys expire with their run (${label})`, () => {
    let t: Target
    let runner: Runner
    afterEach(async () => {
      await runner.stop()
      await t.close()
    })

    for (const flow of ['plain', 'limited']) {
      it(`${flow}: kept while the run is; gone with it; then a fresh run under a new id`, async () => {
        t = make()
        runner = createRunner({ store: t.store, flows: [plain, limited], onError: () => {} })
        await runner.start()
        const first = await runner.startFlow(flow, {}, { idempotencyKey: 'order-1' })
        expect(await runner.result(first.runId)).toEqual({ a: 'a' })
        // kept while the run is kept: a repeat is the first run, nothing new started
        expect(await runner.startFlow(flow, {}, { idempotencyKey: 'order-1' })).toEqual(first)
        expect(await t.store.getLookup('start', `${flow}/order-1`)).toBe(first.runId)
        if (t.ttls) {
          const { lookup, lookupAt, runAt } = await t.ttls(`${flow}/order-1`, first.runId)
          // a key with the run's retention, expiring no later than any of the run's keys
          expect(lookup).toBeGreaterThan(0)
          expect(lookup).toBeLessThanOrEqual(RETENTION_MS)
          for (const at of runAt) {
            expect(at).toBeGreaterThan(0)
            // on a Cluster the retirement and the ending write go to two nodes at once: a few ms
            // either way, more on a loaded machine (6 ms seen at load 15)
            expect(lookupAt).toBeLessThanOrEqual(at + 25)
          }
        }
        // the run expires: the key goes with it
        await waitFor(async () => (await t.store.getRunState(first.runId)) === null, 'the run expired', 5000)
        // (on a Cluster a few ms after the run's keys, on another node: see above)
        await waitFor(async () => (await t.store.getLookup('start', `${flow}/order-1`)) === null, 'the key gone with its run', 1000)
        // the same key now: a fresh run under a new id, never the expired run's id
        const again = await runner.startFlow(flow, {}, { idempotencyKey: 'order-1' })
        expect(again.runId).not.toBe(first.runId)
        expect(await runner.result(again.runId)).toEqual({ a: 'a' })
        expect((await kindsOf(t.store, again.runId))[0]).toBe('flow.started')
      })
    }

    it('a key without a run end keeps its run: a live run is found by its key', async () => {
      t = make()
      const waiting = defineFlow({ name: 'waiting', steps: { a: { handler: async (_i, ctx) => ctx.await.event({ kind: 'never' }) } } })
      runner = createRunner({ store: t.store, flows: [waiting], onError: () => {} })
      await runner.start()
      const first = await runner.startFlow('waiting', {}, { idempotencyKey: 'k' })
      await new Promise((r) => setTimeout(r, RETENTION_MS * 2))
      expect(await runner.startFlow('waiting', {}, { idempotencyKey: 'k' })).toEqual(first)
    })
  })
}
