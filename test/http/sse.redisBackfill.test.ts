// SSE on the Redis store: a backfill of several pages, then live events, arrive once each and
// in order through node:http (direct write) and Hono (Web stream); a client that stops reading
// is dropped with bounded memory while a fast one on the same run gets everything (F14 on Redis).
import { createHandler } from '@leanflow/http'
import { createRedisStreamStore, type RedisStreamStore } from '@leanflow/redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RunningServer, sseIdsUntilEnd, stalledSseClient, startServer } from '../helpers/httpMatrix.js'
import { useRedisServer } from '../helpers/redisServer.js'
import { waitFor } from '../helpers/waitFor.js'

const redis = useRedisServer()
let store: RedisStreamStore
const servers: RunningServer[] = []

beforeAll(() => {
  store = createRedisStreamStore({ url: redis.url, prefix: 'ssebf' })
})
afterAll(async () => {
  for (const s of servers) await s.stop()
  await store?.close()
})

const started = (runId: string) => ({ kind: 'flow.started', flow: runId, data: { name: 'p', input: null, steps: {} } })
const PAD = 'p'.repeat(2048)
const N = 10_000 // 20 MB: more than the kernel's socket buffers can hold for the slow client

async function appendMany(runId: string, n: number, pad = ''): Promise<string[]> {
  const ids: string[] = []
  for (let i = 0; i < n; i += 100) {
    const batch = Array.from({ length: Math.min(100, n - i) }, (_, k) =>
      store.append(runId, { kind: 'user.tick', flow: runId, data: { i: i + k, pad } }),
    )
    for (const e of await Promise.all(batch)) ids.push(e.id)
  }
  return ids
}

describe.each(['node', 'hono'] as const)('SSE on the Redis store (%s)', (transport) => {
  it('a 2,500-event backfill (several pages), then live events, then end: each once, in order', async () => {
    const server = await startServer(transport, createHandler({ store }))
    servers.push(server)
    const runId = `bf-${transport}`
    const ids = [(await store.append(runId, started(runId))).id, ...(await appendMany(runId, 2500))]
    let appendedLive = false
    const res = await fetch(`${server.origin}/flows/runs/${runId}/stream`)
    const { ids: got, end } = await sseIdsUntilEnd(res, async (got) => {
      if (appendedLive || got.length !== ids.length) return
      appendedLive = true
      ids.push(...(await appendMany(runId, 20)))
      ids.push((await store.append(runId, { kind: 'flow.completed', flow: runId, data: { duration: 1 } })).id)
    })
    expect(end).toBe(true)
    expect(got).toEqual(ids)
  })

  it('drops a client that stopped reading; a fast client on the run gets every event', async () => {
    const server = await startServer(transport, createHandler({ store, maxQueuedFrames: 50, heartbeatMs: 300 }))
    servers.push(server)
    const runId = `slow-${transport}`
    const ids = [(await store.append(runId, started(runId))).id]
    const slow = await stalledSseClient(server.origin, `/flows/runs/${runId}/stream`)
    let fastCount = 0
    const fast = fetch(`${server.origin}/flows/runs/${runId}/stream`).then((res) =>
      sseIdsUntilEnd(res, (got) => {
        fastCount = got.length
      }),
    )
    await waitFor(() => fastCount === 1, 'the fast client to start')
    ids.push(...(await appendMany(runId, N, PAD)))
    ids.push((await store.append(runId, { kind: 'flow.completed', flow: runId, data: { duration: 1 } })).id)
    expect((await fast).ids).toEqual(ids)
    slow.resume()
    await waitFor(slow.closed, 'the slow connection to be cut', 15_000)
    expect(slow.bytes()).toBeLessThan((N * PAD.length) / 2)
  })
})
