// SSE on the Redis store (real redis-server), through node:http: an EventSource that loses its
// connection gets exactly the missed events after the reconnect (F7); the store's subscriber
// connection killed and kept down while events are appended (published to nobody), then back,
// loses nothing (F6 through SSE: the follower must read the stream after the reconnect); a
// position whose run expired gets `event: reset` (F8).
import { createHandler } from '@leanflow/http'
import { createRedisStreamStore, type RedisStreamStore } from '@leanflow/redis'
import { EventSource } from 'eventsource'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { collectSse, type RunningServer, recordSse, startServer } from '../helpers/httpMatrix.js'
import { cutLive } from '../helpers/redisLiveFault.js'
import { useRedisServer } from '../helpers/redisServer.js'
import { waitFor } from '../helpers/waitFor.js'

const redis = useRedisServer({ client: true })
let store: RedisStreamStore
let server: RunningServer

beforeAll(async () => {
  store = createRedisStreamStore({ url: redis.url, prefix: 'sse', connectionName: 'sse', retention: '1s' })
  server = await startServer('node', createHandler({ store, retryMs: 50 }))
})
afterAll(async () => {
  await server?.stop()
  await store?.close()
})

const started = (runId: string) => ({ kind: 'flow.started', flow: runId, data: { name: 'r', input: null, steps: {} } })
const tick = (runId: string, i: number) => ({ kind: 'user.tick', flow: runId, data: { i } })

it('F7 + F6: a dropped SSE connection, and a subscriber kept down while events are appended, lose nothing and double nothing', async () => {
  const runId = 'redis-f7'
  const ids = [(await store.append(runId, started(runId))).id]
  const es = new EventSource(`${server.origin}/flows/runs/${runId}/stream`)
  const seen = recordSse(es)
  try {
    await waitFor(() => seen.ids.length === 1, 'the backfill')
    for (let i = 0; i < 20; i++) ids.push((await store.append(runId, tick(runId, i))).id)
    server.server.closeAllConnections() // the client drops; EventSource comes back with Last-Event-ID
    for (let i = 20; i < 40; i++) ids.push((await store.append(runId, tick(runId, i))).id)
    await waitFor(() => seen.ids.length === ids.length, 'the client to be back and caught up')
    // the store's subscriber connection is killed and cannot reconnect while these are appended
    const restore = await cutLive([{ host: '127.0.0.1', port: redis.port }], 'sse:sub', store.keys.live(runId))
    for (let i = 40; i < 60; i++) ids.push((await store.append(runId, tick(runId, i))).id)
    await restore() // subscribed again: the rest arrive live, after the catch-up read
    for (let i = 60; i < 70; i++) ids.push((await store.append(runId, tick(runId, i))).id)
    ids.push((await store.append(runId, { kind: 'flow.completed', flow: runId, data: { duration: 1 } })).id)
    await waitFor(() => seen.ended, 'end')
    expect(seen.ids).toEqual(ids)
  } finally {
    es.close()
  }
})

it('F8: a position whose run expired (retention) gets event: reset', async () => {
  const runId = 'redis-f8'
  const first = await store.append(runId, started(runId))
  await store.append(runId, { kind: 'flow.completed', flow: runId, data: { duration: 1 } })
  await waitFor(async () => (await redis.client.keys(`sse:{${runId}}:*`)).length === 0, 'the run to expire', 15_000)
  const res = await fetch(`${server.origin}/flows/runs/${runId}/stream`, { headers: { 'last-event-id': first.id } })
  const frames = await collectSse(res)
  expect(frames.find((f) => f.event === 'reset')).toBeDefined()
  expect(frames.filter((f) => f.id !== undefined)).toEqual([])
})
