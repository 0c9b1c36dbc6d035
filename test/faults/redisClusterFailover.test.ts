// F28: the Redis Cluster master holding a subscriber connection of the store is SIGKILLed while
// runs on every master are appended to and followed; its replica takes over. Every follower
// still gets every event, in order, once — and live delivery uses sharded pub/sub (SPUBLISH to
// the run's shard, SSUBSCRIBE on the master owning the run's slot), never classic PUBLISH.
import type { EventRecord } from '@leanflow/core'
import { createRedisStreamStore, type RedisStreamStore } from '@leanflow/redis'
import { within } from '@leanflow/testing'
import { Cluster, Redis } from 'ioredis'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { type RedisCluster, startRedisCluster } from '../helpers/redisCluster.js'
import { waitFor } from '../helpers/waitFor.js'

const RUNS_PER_MASTER = 8
const ROUNDS = 30
const KILL_AFTER = 10

let cluster: RedisCluster
let client: Cluster
let store: RedisStreamStore
const admins = new Map<number, Redis>()

beforeAll(async () => {
  cluster = await startRedisCluster(3, { replicas: 1, nodeTimeoutMs: 1000 })
  client = new Cluster(cluster.nodes)
  client.on('error', () => {}) // the killed master: reconnects are ioredis's job, failed appends are retried below
  store = createRedisStreamStore({ redis: client, prefix: 'fo', connectionName: 'fo' })
  for (const n of cluster.nodes) {
    const admin = new Redis(n.port, n.host, { retryStrategy: () => null, lazyConnect: true })
    admin.on('error', () => {})
    await admin.connect()
    admins.set(n.port, admin)
  }
})
afterAll(async () => {
  await store?.close()
  client?.disconnect()
  for (const a of admins.values()) a.disconnect()
  await cluster?.stop()
})

const admin = (port: number) => admins.get(port) as Redis
const portOf = (nodeKey: string | undefined) => Number(nodeKey?.split(':')[1])

/** Port of the master owning `key`'s slot, by the client's slot map. */
async function ownerOf(key: string): Promise<number> {
  const slot = Number(await client.cluster('KEYSLOT', key))
  return portOf(client.slots[slot]?.[0])
}

/** Appends, retrying while the cluster fails over; the idempotency key keeps a resent append single. */
async function appendRetrying(runId: string, i: number | 'done'): Promise<EventRecord> {
  const deadline = Date.now() + 30_000
  for (;;) {
    try {
      return await store.append(runId, { kind: i === 'done' ? 'done' : 'tick', flow: runId, data: { i } }, { idempotencyKey: `k${i}` })
    } catch (err) {
      if (Date.now() > deadline) throw err
      await new Promise((r) => setTimeout(r, 50))
    }
  }
}

/** Follows `runId` until its `done` event. */
async function followToDone(runId: string, got: EventRecord[]): Promise<EventRecord[]> {
  for await (const e of store.follow(runId)) if (got.push(e) && e.kind === 'done') break
  return got
}

const shardSubscribers = async (port: number, channel: string) =>
  Number(((await admin(port).call('PUBSUB', 'SHARDNUMSUB', channel)) as [string, number])[1])
const classicSubscribers = async (port: number, channel: string) =>
  Number(((await admin(port).call('PUBSUB', 'NUMSUB', channel)) as [string, number])[1])

it('F28: followers on every master get every event once, in order, across the failover of a master holding a subscriber', async () => {
  await within(
    (async () => {
      // runs spread evenly over the three masters
      const masters = await cluster.masters()
      expect(masters).toHaveLength(3)
      const runsOf = new Map<number, string[]>(masters.map((p) => [p, []]))
      for (let i = 0; [...runsOf.values()].some((r) => r.length < RUNS_PER_MASTER); i++) {
        const run = `fo${i}`
        const list = runsOf.get(await ownerOf(store.keys.events(run)))
        if (list && list.length < RUNS_PER_MASTER) list.push(run)
      }
      const runs = [...runsOf.values()].flat()
      const early = new Map(runs.map((r) => [r, [] as EventRecord[]]))
      const followers = runs.map((r) => followToDone(r, early.get(r)!))

      const appendRound = (i: number | 'done') => Promise.all(runs.map((r) => appendRetrying(r, i)))
      for (let i = 0; i < KILL_AFTER; i++) await appendRound(i)
      const liveBefore = () => runs.every((r) => early.get(r)!.length === KILL_AFTER)
      await waitFor(liveBefore, 'every follower to get the first rounds', 20_000)

      // sharded pub/sub: each run's channel is subscribed on the master owning its slot, on no other
      // master, and with no classic subscription anywhere; appends SPUBLISH and never PUBLISH
      for (const [port, list] of runsOf) {
        for (const r of list) {
          const channel = store.keys.live(r)
          expect(await shardSubscribers(port, channel)).toBe(1)
          for (const other of masters) {
            if (other !== port) expect(await shardSubscribers(other, channel)).toBe(0)
            expect(await classicSubscribers(other, channel)).toBe(0)
          }
        }
        const stats = (await admin(port).info('commandstats')) as string
        expect(stats).toContain('cmdstat_spublish:')
        expect(stats).not.toContain('cmdstat_publish:')
      }

      // the victim: a master with one of the store's subscriber connections, once its replica has
      // every acknowledged write (Redis replicates asynchronously: a write the replica never got is
      // lost on failover, whatever the client does)
      const victim = masters[0]!
      const subs = ((await admin(victim).call('CLIENT', 'LIST', 'TYPE', 'pubsub')) as string)
        .split('\n')
        .filter((l) => l.includes(' name=fo:sub '))
      expect(subs).toHaveLength(1)
      await cluster.replicated(victim)
      await cluster.server(victim).kill()

      // keep appending while the replica takes over; late followers start during the outage
      const late = new Map(runs.map((r) => [r, [] as EventRecord[]]))
      const lateFollowers = runs.map((r) => followToDone(r, late.get(r)!))
      for (let i = KILL_AFTER; i < ROUNDS; i++) await appendRound(i)
      const promoted = (await cluster.masters()).filter((p) => !masters.includes(p))
      expect(promoted).toHaveLength(1)
      await waitFor(() => runs.every((r) => early.get(r)!.length === ROUNDS), 'every follower to get every round', 20_000)
      // the victim's channels moved to the promoted replica
      for (const r of runsOf.get(victim)!) expect(await shardSubscribers(promoted[0]!, store.keys.live(r))).toBe(1)
      await appendRound('done')

      const logs = await Promise.all(followers)
      const lateLogs = await Promise.all(lateFollowers)
      for (const [k, r] of runs.entries()) {
        const stored = await store.read(r)
        expect(stored.map((e) => (e.data as { i: unknown }).i)).toEqual([...Array.from({ length: ROUNDS }, (_, i) => i), 'done'])
        expect(logs[k]).toEqual(stored)
        expect(lateLogs[k]).toEqual(stored)
      }
    })(),
    55_000,
    'the failover test',
  )
}, 90_000)
