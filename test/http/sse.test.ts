// SSE of GET /runs/:runId/stream through the handler in-process and real servers (node:http,
// Express, Hono, h3), against the memory store: backfill then live, end, 204, Last-Event-ID,
// reset (F8), heartbeats, release on disconnect, maxStreams, and EventSource reconnects (F7).
import { createMemoryStreamStore, type EventRecord, type MemoryStreamStore } from '@leanflow/core'
import { createHandler, type Handler } from '@leanflow/http'
import { beforeAll, expect, it } from 'vitest'
import { memoryStoreInternals } from '../../packages/core/src/memoryStreamStore.js'
import { collectSse, describeMatrix, readSse, recordSse, type SseFrame } from '../helpers/httpMatrix.js'
import { waitFor } from '../helpers/waitFor.js'

const started = (runId: string) => ({ kind: 'flow.started', flow: runId, data: { name: 'sse', input: null, steps: { a: { needs: [] } } } })
const note = (runId: string, i: number) => ({ kind: 'user.note', flow: runId, data: { i, text: `line one\nline two\r\n${i}` } })
const done = (runId: string) => ({ kind: 'flow.completed', flow: runId, data: { duration: 1 } })
const eventFrames = (frames: SseFrame[]) => frames.filter((f) => f.event === undefined && f.data !== undefined)

let store: MemoryStreamStore
const lastEventIds: Array<string | null> = []
let handler: Handler

beforeAll(() => {
  store = createMemoryStreamStore()
  handler = createHandler({
    store,
    retryMs: 50,
    maxStreams: 1000,
    authorize: (req, action) => {
      if (action === 'runs.stream') lastEventIds.push(req.headers.get('last-event-id'))
      return true
    },
  })
})

describeMatrix(
  'SSE stream',
  () => handler,
  (t) => {
    const id = (name: string) => `${name}-${t().transport}`

    it('sends retry, backfill then live events (id = event id, data = the record), then end and closes', async () => {
      const runId = id('live')
      const appended: EventRecord[] = [await store.append(runId, started(runId)), await store.append(runId, note(runId, 0))]
      const res = await t().fetch(`/flows/runs/${runId}/stream`)
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/)
      expect(res.headers.get('cache-control')).toMatch(/no-cache/)
      const frames: SseFrame[] = []
      for await (const f of readSse(res)) {
        frames.push(f)
        const events = eventFrames(frames)
        if (f.id === appended[1]?.id) {
          for (let i = 1; i <= 3; i++) appended.push(await store.append(runId, note(runId, i)))
          appended.push(await store.append(runId, done(runId)))
        }
        if (events.length > 10) break
      }
      expect(frames[0]?.retry).toBe(50)
      const events = eventFrames(frames)
      expect(events.map((f) => f.id)).toEqual(appended.map((e) => e.id))
      expect(events.map((f) => JSON.parse(f.data as string))).toEqual(appended)
      const end = frames[frames.length - 1]
      expect(end?.event).toBe('end')
      expect(end?.id).toBeUndefined()
      expect(JSON.parse(end?.data as string)).toEqual({ lastEventId: appended[appended.length - 1]?.id, kind: 'flow.completed' })
    })

    it('a finished run with no position streams everything, then end; at or past its end: 204', async () => {
      const runId = id('finished')
      const a = await store.append(runId, started(runId))
      const b = await store.append(runId, note(runId, 1))
      const c = await store.append(runId, done(runId))
      const frames = await collectSse(await t().fetch(`/flows/runs/${runId}/stream`))
      expect(eventFrames(frames).map((f) => f.id)).toEqual([a.id, b.id, c.id])
      expect(frames[frames.length - 1]?.event).toBe('end')
      const atEnd = await t().fetch(`/flows/runs/${runId}/stream`, { headers: { 'last-event-id': c.id } })
      expect(atEnd.status).toBe(204)
      expect(await atEnd.text()).toBe('')
      expect((await t().fetch(`/flows/runs/${runId}/stream?after=${c.id}`)).status).toBe(204)
    })

    it('Last-Event-ID wins over ?after=', async () => {
      const runId = id('resume')
      const ids: string[] = []
      ids.push((await store.append(runId, started(runId))).id)
      for (let i = 0; i < 4; i++) ids.push((await store.append(runId, note(runId, i))).id)
      ids.push((await store.append(runId, done(runId))).id)
      const res = await t().fetch(`/flows/runs/${runId}/stream?after=${ids[0]}`, { headers: { 'last-event-id': ids[3] as string } })
      const frames = await collectSse(res)
      expect(eventFrames(frames).map((f) => f.id)).toEqual(ids.slice(4))
      const bad = await t().fetch(`/flows/runs/${runId}/stream`, { headers: { 'last-event-id': 'not-an-id' } })
      expect(bad.status).toBe(400)
    })

    it('sends heartbeat comments and releases its follow when the client goes away', async () => {
      const runId = id('leave')
      await store.append(runId, started(runId))
      const runs = memoryStoreInternals(store)
      const before = runs.followerCount()
      const quick = createHandler({ store, heartbeatMs: 20 })
      const res = await quick(new Request(`http://x/flows/runs/${runId}/stream`))
      let comments = 0
      for await (const f of readSse(res)) if (f.comment === '' && ++comments === 3) break
      expect(comments).toBe(3)
      await waitFor(() => runs.followerCount() === before, 'the follower to be released')
      // through this transport: the client leaves mid-stream
      const res2 = await t().fetch(`/flows/runs/${runId}/stream`)
      for await (const f of readSse(res2)) if (f.id !== undefined) break
      await waitFor(() => runs.followerCount() === before, 'the follower to be released after a disconnect')
    })

    it('EventSource reconnects with Last-Event-ID after a drop and gets exactly the N new events, in order (F7)', async () => {
      const runId = id('f7')
      const first = [await store.append(runId, started(runId)), await store.append(runId, note(runId, 0))]
      const es = t().eventSource(`/flows/runs/${runId}/stream`)
      const seen = recordSse(es)
      try {
        await waitFor(() => seen.ids.length === 2, 'the backfill')
        const headersBefore = lastEventIds.length
        t().cut()
        const more: EventRecord[] = []
        for (let i = 1; i <= 7; i++) more.push(await store.append(runId, note(runId, i)))
        more.push(await store.append(runId, done(runId)))
        await waitFor(() => seen.ended, 'end after the reconnect')
        expect(seen.ids).toEqual([...first, ...more].map((e) => e.id))
        expect(lastEventIds.slice(headersBefore)).toContain(first[1]?.id)
      } finally {
        es.close()
      }
    })
  },
)

describeMatrix(
  'SSE limits',
  () => createHandler({ store, maxStreams: 2, retryMs: 100 }),
  (t) => {
    it('past maxStreams a new stream gets 200 with retry: and closes at once', async () => {
      const runId = `limits-${t().transport}`
      await store.append(runId, started(runId))
      const open = [await t().fetch(`/flows/runs/${runId}/stream`), await t().fetch(`/flows/runs/${runId}/stream`)]
      const readers = open.map((r) => readSse(r))
      for (const r of readers) {
        for (let f = await r.next(); !f.done; f = await r.next()) if (f.value.id !== undefined) break
      }
      const third = await t().fetch(`/flows/runs/${runId}/stream`)
      expect(third.status).toBe(200)
      const frames = await collectSse(third)
      expect(frames).toEqual([{ retry: 500 }])
      for (const r of readers) await r.return(undefined)
      await waitFor(async () => {
        const again = await t().fetch(`/flows/runs/${runId}/stream`)
        const got = await collectSse(again, (f) => f.id !== undefined)
        return got.some((f) => f.id !== undefined)
      }, 'a stream slot to free up')
    })
  },
)

describeMatrix(
  'SSE reset',
  () => {
    const handlerWithClock = createHandler({ store: expiring, retryMs: 50 })
    return handlerWithClock
  },
  (t) => {
    it('a position whose run expired (retention) gets event: reset, then the stream closes (F8)', async () => {
      const runId = `gone-${t().transport}`
      const a = await expiring.append(runId, started(runId))
      await expiring.append(runId, done(runId))
      clockOffset += 2 * 60 * 60 * 1000
      const res = await t().fetch(`/flows/runs/${runId}/stream`, { headers: { 'last-event-id': a.id } })
      expect(res.status).toBe(200)
      const frames = await collectSse(res)
      const reset = frames.find((f) => f.event === 'reset')
      expect(reset?.id).toBeUndefined()
      expect(JSON.parse(reset?.data as string)).toMatchObject({ reason: expect.any(String) })
      expect(eventFrames(frames)).toEqual([])
      // without a position the run is simply unknown
      expect((await t().fetch(`/flows/runs/${runId}/stream`)).status).toBe(404)
    })
  },
)

let clockOffset = 0
const expiring = createMemoryStreamStore({ retention: '1h', now: () => Date.now() + clockOffset })

it('a backfill far larger than maxQueuedFrames is paced by the reader, not dropped', async () => {
  const s = createMemoryStreamStore()
  const runId = 'long-backfill'
  const ids = [(await s.append(runId, started(runId))).id]
  for (let i = 0; i < 300; i++) ids.push((await s.append(runId, note(runId, i))).id)
  ids.push((await s.append(runId, done(runId))).id)
  const h = createHandler({ store: s, maxQueuedFrames: 10, heartbeatMs: 60_000 })
  const frames: SseFrame[] = []
  for await (const f of readSse(await h(new Request(`http://x/flows/runs/${runId}/stream`)))) {
    frames.push(f)
    if (frames.length % 50 === 0) await new Promise((r) => setTimeout(r, 5)) // a slow, but reading, client
  }
  expect(eventFrames(frames).map((f) => f.id)).toEqual(ids)
  expect(frames[frames.length - 1]?.event).toBe('end')
})
