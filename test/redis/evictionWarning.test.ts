// Redis under an evicting `maxmemory-policy` drops keys when full, and an evicted key is a lost
// run: the store says so once, when its connection is first ready (BullMQ warns the same way).
// Under `noeviction` it says nothing. On real redis-servers.
import { createRedisStreamStore } from '@leanflow/redis'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { type RedisServer, startRedis } from '../helpers/redisServer.js'
import { waitFor } from '../helpers/waitFor.js'

let lru: RedisServer
let plain: RedisServer
beforeAll(async () => {
  ;[lru, plain] = await Promise.all([startRedis({ args: ['--maxmemory-policy', 'allkeys-lru'] }), startRedis()])
})
afterAll(async () => {
  await Promise.all([lru?.stop(), plain?.stop()])
})

it('a store on a Redis that evicts keys warns once, naming the policy and the fix', async () => {
  const warnings: string[] = []
  const store = createRedisStreamStore({ url: lru.url, prefix: 'evict', onWarning: (m) => warnings.push(m) })
  try {
    await store.append('r1', { kind: 'log', flow: 'r1', data: { msg: 'hi' } })
    await waitFor(() => warnings.length > 0, 'the warning')
    await store.append('r1', { kind: 'log', flow: 'r1', data: { msg: 'again' } })
    await new Promise((r) => setTimeout(r, 100))
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toContain('"allkeys-lru"')
    expect(warnings[0]).toContain('maxmemory-policy noeviction')
    expect(warnings[0]).toContain(lru.url.replace(/\/$/, ''))
  } finally {
    await store.close()
  }
})

it('a client passed in is checked too; a noeviction Redis gets no warning', async () => {
  const warnings: string[] = []
  const client = new Redis(lru.url)
  const quiet = createRedisStreamStore({ url: plain.url, prefix: 'evict', onWarning: (m) => warnings.push(`plain: ${m}`) })
  const mine = createRedisStreamStore({ redis: client, prefix: 'evict', onWarning: (m) => warnings.push(m) })
  try {
    await Promise.all([quiet.append('r2', { kind: 'log', flow: 'r2', data: {} }), mine.append('r2', { kind: 'log', flow: 'r2', data: {} })])
    await waitFor(() => warnings.length > 0, 'the warning')
    await new Promise((r) => setTimeout(r, 100))
    expect(warnings).toEqual([expect.stringContaining('the client you passed')])
  } finally {
    await Promise.all([quiet.close(), mine.close()])
    client.disconnect()
  }
})

it('onWarning must be a function', () => {
  expect(() => createRedisStreamStore({ url: plain.url, onWarning: 'yes' as never })).toThrow(/onWarning/)
})

it('twelve stores on one client (one per tenant prefix) warn once; stores closed before the client connects leave no listener behind', async () => {
  const warnings: string[] = []
  const client = new Redis(lru.url)
  const stores = Array.from({ length: 12 }, (_, i) =>
    createRedisStreamStore({ redis: client, prefix: `t${i}`, onWarning: (m) => warnings.push(m) }),
  )
  try {
    await Promise.all(stores.map((s, i) => s.append(`r${i}`, { kind: 'log', flow: `r${i}`, data: {} })))
    await waitFor(() => warnings.length > 0, 'the warning')
    await new Promise((r) => setTimeout(r, 100))
    expect(warnings).toHaveLength(1)
  } finally {
    await Promise.all(stores.map((s) => s.close()))
    client.disconnect()
  }
  const lazy = new Redis(lru.url, { lazyConnect: true })
  const before = lazy.listenerCount('ready')
  for (let i = 0; i < 20; i++) await createRedisStreamStore({ redis: lazy, prefix: `l${i}`, onWarning: () => {} }).close()
  expect(lazy.listenerCount('ready')).toBe(before)
  lazy.disconnect()
})
