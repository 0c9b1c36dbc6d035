// Query and position edges over HTTP (F27 and issue 11 items 7 and 9), on the memory store and
// on a real redis-server, through the handler in-process and real servers: well-formed ids at
// the edges (`0-0`, the largest stream id) in `after`/`before` and `Last-Event-ID` give an
// empty page, the whole log, 204 or `event: reset` — never a 500 and never a 200 that closes
// silently; ids past the largest stream id, empty and repeated query parameters are 400.
import { createMemoryStreamStore, type EventRecord, type StreamStore } from '@leanflow/core'
import { createHandler } from '@leanflow/http'
import { createRedisStreamStore, type RedisStreamStore } from '@leanflow/redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { collectSse, describeMatrix, errorOf, type MatrixTarget } from '../helpers/httpMatrix.js'
import { useRedisServer } from '../helpers/redisServer.js'

const MAX = '18446744073709551615-18446744073709551615'

interface Seeded {
  /** A finished run's ids, oldest first. */
  done: string[]
  /** A run that has not ended. */
  live: string[]
}

async function seed(store: StreamStore): Promise<Seeded> {
  const started = (runId: string) => ({ kind: 'flow.started', flow: runId, data: { name: 'edge', input: null, steps: {} } })
  const done = [
    (await store.append('done', started('done'))).id,
    (await store.append('done', { kind: 'log', flow: 'done', data: { level: 'info', msg: 'hi' } })).id,
    (await store.append('done', { kind: 'flow.completed', flow: 'done', data: { duration: 1 } })).id,
  ]
  const live = [
    (await store.append('live', started('live'))).id,
    (await store.append('live', { kind: 'log', flow: 'live', data: { level: 'info', msg: 'hi' } })).id,
  ]
  return { done, live }
}

/** An SSE request that gives up after 5 s (a stream that never closes fails the test, not the run). */
const sse = (t: MatrixTarget, path: string, headers: Record<string, string> = {}) =>
  t.fetch(path, { headers, signal: AbortSignal.timeout(5000) })

const ids = async (res: Response) => ((await res.json()) as { events: EventRecord[] }).events.map((e) => e.id)

function edgeCases(t: () => MatrixTarget, seeded: () => Seeded): void {
  it('GET /runs/:id/events with ids at the edges: an empty page or the whole log, never 500 (F27)', async () => {
    const { done } = seeded()
    const cases: Array<[string, string[]]> = [
      ['before=0-0', []],
      ['before=0-0&direction=backward', []],
      [`after=${MAX}`, []],
      [`after=${MAX}&direction=backward`, []],
      [`after=${done[2]}&before=${done[0]}`, []],
      [`after=${done[1]}&before=${done[1]}`, []],
      ['after=0-0', done],
      [`before=${MAX}`, done],
      [`after=0-0&before=${MAX}`, done],
      [`after=0-0&before=${MAX}&direction=backward`, [...done].reverse()],
      ['after=0-0&limit=1', done.slice(0, 1)],
      [`before=${MAX}&direction=backward&limit=1`, done.slice(2)],
    ]
    for (const [q, expected] of cases) {
      const res = await t().fetch(`/flows/runs/done/events?${q}`)
      expect(res.status, q).toBe(200)
      expect(await ids(res), q).toEqual(expected)
    }
    for (const q of ['before=0-0', `after=${MAX}`]) {
      const res = await t().fetch(`/flows/runs/nobody/events?${q}`)
      expect(res.status, q).toBe(404)
      expect((await errorOf(res)).code, q).toBe('RUN_NOT_FOUND')
    }
  })

  it('ids past the largest stream id are 400 INVALID_ARGUMENT, naming the value', async () => {
    for (const id of ['18446744073709551616-0', '0-18446744073709551616', '99999999999999999999-0']) {
      for (const q of [`after=${id}`, `before=${id}`]) {
        const res = await t().fetch(`/flows/runs/done/events?${q}`)
        expect(res.status, q).toBe(400)
        const error = await errorOf(res)
        expect(error.code, q).toBe('INVALID_ARGUMENT')
        expect(error.message, q).toContain(id)
      }
      const stream = await sse(t(), '/flows/runs/live/stream', { 'last-event-id': id })
      expect(stream.status, id).toBe(400)
      expect((await errorOf(stream)).code).toBe('INVALID_ARGUMENT')
    }
  })

  it('SSE from the largest id: 204 on a finished run; reset on a live one, then the stream closes', async () => {
    expect((await sse(t(), '/flows/runs/done/stream', { 'last-event-id': MAX })).status).toBe(204)
    expect((await sse(t(), `/flows/runs/done/stream?after=${MAX}`)).status).toBe(204)
    for (const path of ['/flows/runs/live/stream', `/flows/runs/live/stream?after=${MAX}`]) {
      const res = await sse(t(), path, path.includes('?') ? {} : { 'last-event-id': MAX })
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/)
      const frames = await collectSse(res).catch(() => []) // to the end of the body: it must close within 5 s
      const reset = frames.find((f) => f.event === 'reset')
      expect(reset, JSON.stringify(frames)).toBeDefined()
      expect(JSON.parse(reset?.data ?? '{}')).toMatchObject({ reason: 'UNKNOWN_POSITION', message: expect.stringContaining(MAX) })
      expect(frames.filter((f) => f.id !== undefined)).toEqual([])
    }
  })

  it('SSE from 0-0: every event of the run (then end on a finished one), never an error', async () => {
    const { done, live } = seeded()
    const finished = await collectSse(await sse(t(), '/flows/runs/done/stream', { 'last-event-id': '0-0' }))
    expect(finished.filter((f) => f.id !== undefined).map((f) => f.id)).toEqual(done)
    expect(finished.at(-1)?.event).toBe('end')
    const res = await sse(t(), '/flows/runs/live/stream?after=0-0')
    expect(res.status).toBe(200)
    const got = await collectSse(res, (f) => f.id === live[1])
    expect(got.filter((f) => f.id !== undefined).map((f) => f.id)).toEqual(live)
    await res.body?.cancel()
  })

  it('empty and repeated query parameters are 400 INVALID_ARGUMENT, like any invalid value (item 9)', async () => {
    const { done } = seeded()
    const cases = [
      '/flows/runs/done/events?limit=',
      '/flows/runs/done/events?limit=1&limit=5000',
      '/flows/runs/done/events?limit=5&limit=5',
      '/flows/runs/done/events?after=',
      `/flows/runs/done/events?after=${done[0]}&after=${done[1]}`,
      '/flows/runs/done/events?before=',
      `/flows/runs/done/events?before=${done[2]}&before=${done[1]}`,
      '/flows/runs/done/events?direction=',
      '/flows/runs/done/events?direction=forward&direction=backward',
      '/flows/edge/runs?limit=',
      '/flows/edge/runs?limit=1&limit=5000',
      '/flows/edge/runs?before=',
      '/flows/edge/runs?before=1&before=2',
      '/flows/edge/runs?status=',
      '/flows/edge/runs?status=running&status=completed',
      '/flows/runs/live/stream?after=',
      `/flows/runs/live/stream?after=${done[0]}&after=${done[1]}`,
    ]
    for (const path of cases) {
      const res = await sse(t(), path)
      expect(res.status, path).toBe(400)
      const error = await errorOf(res)
      expect(error.code, path).toBe('INVALID_ARGUMENT')
      const name = new URL(path, 'http://x').searchParams.keys().next().value as string
      expect(error.message, path).toContain(name)
    }
    // other parameters are ignored (a cache buster, say), and a valid one still works
    expect((await t().fetch('/flows/runs/done/events?limit=2&_=1')).status).toBe(200)
  })
}

describe('on the memory store', () => {
  let store: StreamStore
  let seeded: Seeded
  beforeAll(async () => {
    store = createMemoryStreamStore()
    seeded = await seed(store)
  })
  describeMatrix(
    'edges',
    () => createHandler({ store }),
    (t) => edgeCases(t, () => seeded),
  )
})

describe('on redis-server', () => {
  const redis = useRedisServer()
  let redisStore: RedisStreamStore
  let seeded: Seeded
  beforeAll(async () => {
    redisStore = createRedisStreamStore({ url: redis.url, prefix: 'edges' })
    seeded = await seed(redisStore)
  })
  afterAll(() => redisStore?.close())
  describeMatrix(
    'edges',
    () => createHandler({ store: redisStore }),
    (t) => edgeCases(t, () => seeded),
  )
})
