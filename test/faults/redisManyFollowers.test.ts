// F6 (many followers): one store follows dozens of runs at once over its one shared
// subscriber connection, while followers start and end and the connection is killed.
// Followers that subscribed while that connection was still in its handshake used to
// fail the ready check ("Ready check failed: ... Can't execute 'info'" or
// "Connection in subscriber mode") and throw out of `follow`.
import type { EventRecord } from '@leanflow/core'
import { createRedisStreamStore, type RedisStreamStore } from '@leanflow/redis'
import { Cluster, Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RedisCluster, startRedisCluster } from '../helpers/redisCluster.js'
import { startRedis, useRedisServer } from '../helpers/redisServer.js'

const ROUNDS = 10

/** Follows `runId` until `n` events (or `signal` aborts); returns what it got. */
async function followN(store: RedisStreamStore, runId: string, n: number, signal?: AbortSignal): Promise<EventRecord[]> {
  const out: EventRecord[] = []
  if (n === 0) return out
  for await (const e of store.follow(runId, { signal })) if (out.push(e) === n) break
  return out
}

/** Resolves after `turns` macrotask turns: spreads starts over a connection's handshake. */
async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r))
}

const tick = (run: string, i: number) => ({ kind: 'tick', flow: run, data: { i } })
const seq = (n: number) => Array.from({ length: n }, (_, i) => i)
const indexes = (events: EventRecord[]) => events.map((e) => (e.data as { i: number }).i)

/**
 * One round on a fresh store (so its subscriber connection is opened while the
 * followers start): `runs` runs, a follower per run started a few turns apart,
 * appends racing with the starts, followers that break or abort early, late
 * followers, and optionally CLIENT KILL TYPE pubsub in the middle with more
 * followers starting while the connection comes back.
 */
async function round(
  open: (prefix: string) => RedisStreamStore,
  prefix: string,
  opts: { runs: number; events: number; kill?: () => Promise<number>; numsub: (channels: string[]) => Promise<number> },
): Promise<{ killed: number }> {
  const store = open(prefix)
  try {
    const { runs: RUNS, events: EVENTS } = opts
    const runs = Array.from({ length: RUNS }, (_, i) => `m${i}`)
    const full: Array<{ run: string; got: Promise<EventRecord[]> }> = []
    const partial: Array<{ run: string; got: Promise<EventRecord[]>; want?: number }> = []
    let killed = 0
    const appends = (async () => {
      for (let i = 0; i < EVENTS; i++) {
        await Promise.all(runs.map((r) => store.append(r, tick(r, i))))
        if (i === Math.floor(EVENTS / 2) && opts.kill) killed += await opts.kill()
      }
    })()
    // followers start over the first turns, racing the first appends and the connection's handshake
    for (const [k, r] of runs.entries()) {
      full.push({ run: r, got: followN(store, r, EVENTS) })
      if (k % 3 === 0) partial.push({ run: r, got: followN(store, r, 1 + (k % 5)), want: 1 + (k % 5) })
      if (k % 4 === 1) {
        const ac = new AbortController()
        partial.push({ run: r, got: followN(store, r, EVENTS, ac.signal) })
        setTimeout(() => ac.abort(), k % 7)
      }
      await turns(k % 3)
    }
    // more followers start and end while the others are live (and while the subscriber reconnects)
    for (let wave = 0; wave < 4; wave++) {
      await turns(2 + wave)
      for (const [k, r] of runs.entries()) {
        if ((k + wave) % 4 !== 0) continue
        if (wave % 2 === 0) full.push({ run: r, got: followN(store, r, EVENTS) })
        else partial.push({ run: r, got: followN(store, r, 2), want: 2 })
      }
    }
    await appends
    const logs = new Map(await Promise.all(runs.map(async (r) => [r, await store.read(r)] as const)))
    for (const log of logs.values()) expect(indexes(log)).toEqual(seq(EVENTS))
    for (const f of full) expect(await f.got).toEqual(logs.get(f.run))
    for (const p of partial) {
      const events = await p.got
      const log = logs.get(p.run)!
      if (p.want !== undefined) expect(events.length).toBe(p.want)
      // a follower that ended early got a prefix of its run's log: right run, in order, no gap, no duplicate
      expect(events).toEqual(log.slice(0, events.length))
    }
    // every follower ended: the last one of each run unsubscribed it (also when it ended while the connection was coming back)
    const channels = runs.map((r) => store.keys.live(r))
    for (let t = 0; t < 200 && (await opts.numsub(channels)) > 0; t++) await new Promise((r) => setTimeout(r, 10))
    expect(await opts.numsub(channels)).toBe(0)
    return { killed }
  } finally {
    await store.close()
  }
}

describe('many followers on one standalone Redis store', () => {
  const server = useRedisServer({ client: true })
  const numsub = async (channels: string[]) => {
    const reply = (await server.client.pubsub('NUMSUB', ...channels)) as Array<string | number>
    return reply.reduce<number>((sum, v, i) => (i % 2 === 1 ? sum + Number(v) : sum), 0)
  }

  it(`40 followers starting concurrently with racing appends and early ends (${ROUNDS} fresh stores)`, async () => {
    for (let i = 0; i < ROUNDS; i++) {
      await round((prefix) => createRedisStreamStore({ url: server.url, prefix }), `mf${i}`, { runs: 40, events: 20, numsub })
    }
  })

  it(`followers keep every event when the subscriber is killed while others subscribe (${ROUNDS} rounds)`, async () => {
    let killed = 0
    for (let i = 0; i < ROUNDS; i++) {
      const kill = async () => {
        let n = Number(await server.client.client('KILL', 'TYPE', 'pubsub'))
        // kill the connection again while it is in its handshake, when new followers subscribe
        for (let t = 0; t < 6; t++) {
          await turns(1)
          n += Number(await server.client.client('KILL', 'TYPE', 'pubsub'))
        }
        return n
      }
      killed += (
        await round((prefix) => createRedisStreamStore({ url: server.url, prefix }), `mk${i}`, { runs: 30, events: 20, kill, numsub })
      ).killed
    }
    expect(killed).toBeGreaterThan(0)
  })

  it('the one subscriber connection of a store is named `<connectionName>:sub` and serves 25 follows', async () => {
    const store = createRedisStreamStore({ url: server.url, prefix: 'mn', connectionName: 'many' })
    try {
      const runs = Array.from({ length: 25 }, (_, i) => `n${i}`)
      const got = runs.map((r) => followN(store, r, 3))
      for (let i = 0; i < 3; i++) await Promise.all(runs.map((r) => store.append(r, tick(r, i))))
      for (const [k, events] of (await Promise.all(got)).entries()) {
        expect(events.map((e) => e.flow)).toEqual([runs[k], runs[k], runs[k]])
        expect(indexes(events)).toEqual(seq(3))
      }
      const list = (await server.client.client('LIST')) as string
      expect(list.split('\n').filter((l) => l.includes(' name=many:sub '))).toHaveLength(1)
    } finally {
      await store.close()
    }
  })
})

describe('follows started while Redis is down', () => {
  it('end when aborted, without waiting for Redis to come back; later ones get every event', async () => {
    const server = await startRedis()
    const store = createRedisStreamStore({ url: server.url, prefix: 'down' })
    try {
      await store.append('a', tick('a', 0))
      expect(await followN(store, 'a', 1)).toEqual(await store.read('a')) // the subscriber connection is open
      await server.kill()
      const acs = Array.from({ length: 20 }, () => new AbortController())
      const waiting = acs.map((ac, k) => followN(store, `d${k}`, 1, ac.signal))
      await new Promise((r) => setTimeout(r, 100))
      for (const ac of acs) ac.abort()
      // the server is still down: these must settle now (a hang fails the test by its timeout)
      expect(await Promise.all(waiting)).toEqual(acs.map(() => []))
      await server.restart()
      const runs = Array.from({ length: 20 }, (_, k) => `d${k}`)
      const got = runs.map((r) => followN(store, r, 3))
      for (let i = 0; i < 3; i++) await Promise.all(runs.map((r) => store.append(r, tick(r, i))))
      for (const [k, events] of (await Promise.all(got)).entries()) expect(events).toEqual(await store.read(runs[k]!))
    } finally {
      await store.close()
      await server.stop()
    }
  })
})

describe('many followers on a 3-master Redis Cluster store', () => {
  let cluster: RedisCluster
  const clients: Cluster[] = []
  let nodes: Redis[]
  beforeAll(async () => {
    cluster = await startRedisCluster(3)
    nodes = cluster.nodes.map((n) => new Redis(n.port, n.host))
  })
  afterAll(async () => {
    for (const c of clients) c.disconnect()
    for (const n of nodes) n.disconnect()
    await cluster.stop()
  })
  const numsub = async (channels: string[]) => {
    let sum = 0
    for (const node of nodes) {
      const reply = (await node.pubsub('NUMSUB', ...channels)) as Array<string | number>
      for (let i = 1; i < reply.length; i += 2) sum += Number(reply[i])
    }
    return sum
  }

  const open = (prefix: string) => {
    const client = new Cluster(cluster.nodes)
    clients.push(client)
    return createRedisStreamStore({ redis: client, prefix })
  }

  it(`40 followers across all masters start concurrently, with early ends (${ROUNDS / 2} fresh stores)`, async () => {
    for (let i = 0; i < ROUNDS / 2; i++) await round(open, `cf${i}`, { runs: 40, events: 12, numsub })
  })

  it('followers keep every event when the subscriber is killed on every node while others subscribe', async () => {
    let killed = 0
    for (let i = 0; i < ROUNDS / 2; i++) {
      const kill = async () => {
        let n = 0
        for (let t = 0; t < 4; t++) {
          for (const node of nodes) n += Number(await node.client('KILL', 'TYPE', 'pubsub'))
          await turns(1)
        }
        return n
      }
      killed += (await round(open, `ck${i}`, { runs: 30, events: 12, kill, numsub })).killed
    }
    expect(killed).toBeGreaterThan(0)
  })
})
