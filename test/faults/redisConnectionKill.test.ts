// F4: the store's connections are killed (CLIENT KILL ID) while 100 runs append concurrently.
import type { EventRecord } from '@leanflow/core'
import { createRedisStreamStore, type RedisStreamStore } from '@leanflow/redis'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RedisServer, startRedis } from '../helpers/redisServer.js'

let server: RedisServer
let store: RedisStreamStore
let admin: Redis

beforeAll(async () => {
  server = await startRedis()
  store = createRedisStreamStore({ url: server.url, prefix: 'f4', connectionName: 'f4' })
  admin = new Redis(server.url)
})
afterAll(async () => {
  await store.close()
  admin.disconnect()
  await server.stop()
})

async function killByName(names: string[]): Promise<number> {
  const list = (await admin.client('LIST')) as string
  const ids = list
    .split('\n')
    .filter((l) => names.some((n) => l.includes(` name=${n} `)))
    .map((l) => /(?:^|\s)id=(\d+)/.exec(l)?.[1])
    .filter((id): id is string => id !== undefined)
  for (const id of ids) await admin.client('KILL', 'ID', id).catch(() => 0)
  return ids.length
}

async function followN(runId: string, n: number): Promise<EventRecord[]> {
  const out: EventRecord[] = []
  for await (const e of store.follow(runId)) if (out.push(e) === n) break
  return out
}

describe('F4: killed connections during 100 concurrent runs', () => {
  it('every append succeeds; every log is contiguous, in order, without duplicates; followers see it all', async () => {
    const RUNS = 100
    const EVENTS = 30
    const runs = Array.from({ length: RUNS }, (_, i) => `run${i}`)
    const followers = runs.map((r) => followN(r, EVENTS))
    let appended = 0
    const writers = runs.map(async (r) => {
      for (let i = 0; i < EVENTS; i++) {
        await store.append(r, { kind: 'tick', flow: r, data: { i } }, { idempotencyKey: `${r}:${i}` })
        appended++
      }
    })
    let kills = 0
    const killer = (async () => {
      for (let round = 0; round < 6 && appended < RUNS * EVENTS; round++) {
        await new Promise((r) => setTimeout(r, 40))
        kills += await killByName(['f4:cmd', 'f4:sub'])
      }
    })()
    await Promise.all(writers)
    await killer
    expect(kills).toBeGreaterThan(0)
    const logs = await Promise.all(runs.map((r) => store.read(r)))
    for (const log of logs) expect(log.map((e) => (e.data as { i: number }).i)).toEqual(Array.from({ length: EVENTS }, (_, i) => i))
    const followed = await Promise.all(followers)
    expect(followed).toEqual(logs)
  })
})
