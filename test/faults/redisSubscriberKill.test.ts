// F6: the subscriber connection is killed (CLIENT KILL TYPE pubsub) during appends.
import type { EventRecord } from '@leanflow/core'
import { createRedisStreamStore, type RedisStreamStore } from '@leanflow/redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { useRedisServer } from '../helpers/redisServer.js'

const server = useRedisServer({ client: true })
let store: RedisStreamStore

beforeAll(async () => {
  store = createRedisStreamStore({ url: server.url, prefix: 'f6' })
})
afterAll(async () => {
  await store.close()
})

async function followN(runId: string, n: number): Promise<EventRecord[]> {
  const out: EventRecord[] = []
  for await (const e of store.follow(runId)) if (out.push(e) === n) break
  return out
}

describe('F6: subscriber connection killed mid-follow', () => {
  it('every follower still gets every event, in order, exactly once', async () => {
    const RUNS = 20
    const EVENTS = 60
    const runs = Array.from({ length: RUNS }, (_, i) => `live${i}`)
    // two followers per run, one started before any event and one mid-way
    const early = runs.map((r) => followN(r, EVENTS))
    let killed = 0
    const late: Array<Promise<EventRecord[]>> = []
    for (let i = 0; i < EVENTS; i++) {
      await Promise.all(runs.map((r) => store.append(r, { kind: 'tick', flow: r, data: { i } })))
      if (i === 20) for (const r of runs) late.push(followN(r, EVENTS))
      if (i % 10 === 5) killed += Number(await server.client.client('KILL', 'TYPE', 'pubsub'))
    }
    expect(killed).toBeGreaterThan(0)
    const logs = await Promise.all(runs.map((r) => store.read(r)))
    for (const log of logs) expect(log.map((e) => (e.data as { i: number }).i)).toEqual(Array.from({ length: EVENTS }, (_, i) => i))
    expect(await Promise.all(early)).toEqual(logs)
    expect(await Promise.all(late)).toEqual(logs)
  })

  it('a follower idle while its subscriber is killed catches up on events appended during the outage', async () => {
    const run = 'idle'
    await store.append(run, { kind: 'tick', flow: run, data: { i: 0 } })
    const got = followN(run, 12)
    await new Promise((r) => setTimeout(r, 50))
    await server.client.client('KILL', 'TYPE', 'pubsub')
    // appended while the subscriber reconnects: these messages are published to nobody
    for (let i = 1; i < 12; i++) await store.append(run, { kind: 'tick', flow: run, data: { i } })
    expect(await got).toEqual(await store.read(run))
  })
})
