import type { EventRecord } from '@leanflow/core'
import { createRedisStreamStore, type RedisStreamStore } from '@leanflow/redis'
import { Cluster, Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RedisCluster, startRedisCluster } from '../helpers/redisCluster.js'

let cluster: RedisCluster
let client: Cluster
let store: RedisStreamStore
let nodes: Redis[]

beforeAll(async () => {
  cluster = await startRedisCluster(3)
  client = new Cluster(cluster.nodes)
  store = createRedisStreamStore({ redis: client, prefix: 'cl' })
  nodes = cluster.nodes.map((n) => new Redis(n.port, n.host))
})
afterAll(async () => {
  await store.close()
  client.disconnect()
  for (const n of nodes) n.disconnect()
  await cluster.stop()
})

/** Index of the node that holds `key` (its master serves it without a redirect). */
async function nodeOf(key: string): Promise<number> {
  for (const [i, n] of nodes.entries()) if ((await n.exists(key).catch(() => 0)) === 1) return i
  return -1
}

describe('createRedisStreamStore on a 3-master Redis Cluster', () => {
  it('appends, reads and follows runs on every node; listRuns and listFlows are right', async () => {
    const runs = Array.from({ length: 12 }, (_, i) => `cr${i}`)
    const followers = runs.map(async (r) => {
      const out: EventRecord[] = []
      for await (const e of store.follow(r)) if (out.push(e) === 6) break
      return out
    })
    for (const [i, r] of runs.entries()) {
      await store.append(r, { kind: 'flow.started', flow: r, data: { name: i % 2 ? 'odd' : 'even', input: i, steps: {} } })
    }
    for (let k = 0; k < 4; k++)
      await Promise.all(runs.map((r) => store.append(r, { kind: 'tick', flow: r, data: { k } }, { idempotencyKey: `k${k}` })))
    await Promise.all(runs.map((r) => store.append(r, { kind: 'tick', flow: r, data: { k: 0 } }, { idempotencyKey: 'k0' }))) // repeats
    await Promise.all(runs.slice(0, 6).map((r) => store.append(r, { kind: 'flow.completed', flow: r, data: { duration: 1 } })))
    await Promise.all(runs.slice(6).map((r) => store.append(r, { kind: 'log', flow: r, data: { level: 'info', msg: 'x' } })))

    const placement = await Promise.all(runs.map((r) => nodeOf(store.keys.events(r))))
    expect(new Set(placement)).toEqual(new Set([0, 1, 2])) // the runs span all three masters
    for (const r of runs) {
      // every key of a run is in the run's slot
      const slots = await Promise.all(store.keys.runKeys(r).map((k) => client.cluster('KEYSLOT', k)))
      expect(new Set(slots).size).toBe(1)
    }
    const logs = await Promise.all(runs.map((r) => store.read(r)))
    for (const log of logs) expect(log.map((e) => e.kind)).toEqual(['flow.started', 'tick', 'tick', 'tick', 'tick', expect.any(String)])
    expect(await Promise.all(followers)).toEqual(logs)

    const even = await store.listRuns('even')
    expect(even.map((r) => r.runId).sort()).toEqual(runs.filter((_, i) => i % 2 === 0).sort())
    expect((await store.listRuns('odd', { status: 'completed' })).map((r) => r.runId).sort()).toEqual(['cr1', 'cr3', 'cr5'])
    const flows = await store.listFlows()
    expect(flows).toEqual([
      { flow: 'even', runs: 6 },
      { flow: 'odd', runs: 6 },
    ])
    const backward = await store.read('cr7', { direction: 'backward', limit: 2 })
    expect(backward).toEqual(logs[7]!.slice(-2).reverse())
  })

  it('leaves the caller’s Cluster open on close and names its subscriber connection', async () => {
    const other = createRedisStreamStore({ redis: client, prefix: 'cl2', connectionName: 'cl2' })
    const got = (async () => {
      for await (const e of other.follow('x')) return e
      return undefined
    })()
    await new Promise((r) => setTimeout(r, 100))
    const rec = await other.append('x', { kind: 'tick', flow: 'x', data: 1 })
    expect(await got).toEqual(rec)
    const lists = await Promise.all(nodes.map((n) => n.client('LIST') as Promise<string>))
    expect(
      lists
        .join('\n')
        .split('\n')
        .filter((l) => l.includes('name=cl2:sub')),
    ).toHaveLength(1)
    await other.close()
    expect(await client.get('cl2:absent')).toBeNull()
  })

  it('a follow still subscribing when close() comes ends, without a throw (a fresh Cluster client, closed 0-10 ms in)', async () => {
    const outcomes: string[] = []
    for (const wait of [0, 0, 2, 5, 10]) {
      const fresh = new Cluster(cluster.nodes)
      const s = createRedisStreamStore({ redis: fresh, prefix: 'cl3' })
      const f = (async () => {
        for await (const _ of s.follow(`early-${wait}`)) {
        }
        return 'ended'
      })().catch((e: unknown) => `threw ${(e as { code?: string }).code}`)
      await new Promise((r) => setTimeout(r, wait))
      await s.close()
      outcomes.push(await f)
      fresh.disconnect()
    }
    expect(outcomes).toEqual(['ended', 'ended', 'ended', 'ended', 'ended'])
  })
})
