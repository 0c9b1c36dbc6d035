// F14: a raw TCP client that asks for a run's stream and then stops reading while 10,000
// events (2 KB each) are appended. The handler drops it once its unsent frames pass
// maxQueuedFrames (bounded memory); a fast client on the same run gets every event, in order.
import { createMemoryStreamStore, type MemoryStreamStore } from '@leanflow/core'
import { createHandler } from '@leanflow/http'
import { beforeAll, expect, it, onTestFinished, vi } from 'vitest'
import { memoryStoreInternals } from '../../packages/core/src/memoryStreamStore.js'
import { describeMatrix, sseIdsUntilEnd, stalledSseClient } from '../helpers/httpMatrix.js'
import { waitFor } from '../helpers/waitFor.js'

const N = 10_000
const PAD = 'p'.repeat(2048)
let store: MemoryStreamStore

beforeAll(() => {
  store = createMemoryStreamStore()
})

describeMatrix(
  'slow SSE client (F14)',
  () => createHandler({ store, maxQueuedFrames: 100, heartbeatMs: 500 }),
  (t) => {
    it('drops the client that stopped reading; the fast one gets all events in order', async () => {
      // a drop is no error of the server's: no framework logs one (Hono's node server logs an error body's stack)
      const logged = vi.spyOn(console, 'error')
      onTestFinished(() => logged.mockRestore())
      const runId = `slow-${t().transport}`
      const ids: string[] = []
      ids.push((await store.append(runId, { kind: 'flow.started', flow: runId, data: { name: 'slow', input: null, steps: {} } })).id)
      const runs = memoryStoreInternals(store)
      const base = runs.followerCount()

      const slow = await stalledSseClient(t().origin, `/flows/runs/${runId}/stream`)
      const fast = t()
        .fetch(`/flows/runs/${runId}/stream`)
        .then((res) => sseIdsUntilEnd(res))
      await waitFor(() => runs.followerCount() === base + 2, 'both followers')

      for (let i = 0; i < N; i++) {
        ids.push((await store.append(runId, { kind: 'user.tick', flow: runId, data: { i, pad: PAD } })).id)
        if (i % 100 === 0) await new Promise((r) => setImmediate(r))
      }
      // under load (a CI of 4 files at once beside other work) the frames pile up slowly: up to 30 s
      await waitFor(() => runs.followerCount() === base + 1, 'the slow client to be dropped', 30_000)
      ids.push((await store.append(runId, { kind: 'flow.completed', flow: runId, data: { duration: 1 } })).id)
      const { ids: fastIds, end: fastEnd } = await fast
      expect(fastEnd).toBe(true)
      expect(fastIds).toEqual(ids)

      // the server ends the dropped connection itself, though the client reads nothing more (a
      // frozen tab): under Hono's node server it stayed open, outside maxStreams, for as long
      await waitFor(() => !t().holds(slow.port), 'the server to end the dropped connection', 10_000)
      // what the slow client could still read is bounded: far less than what was appended
      slow.resume()
      await waitFor(slow.closed, 'the slow connection to be closed')
      expect(slow.bytes()).toBeLessThan((N * PAD.length) / 2)
      await waitFor(() => runs.followerCount() === base, 'every follower released')
      expect(logged.mock.calls.map((c) => String(c[0]))).toEqual([])
    })
  },
  ['node', 'express', 'hono', 'h3'],
)

// F14 in bytes: events of 32 KiB, so 600 of them (19.7 MB) stay far below maxQueuedFrames; the
// handler stops reading the store once 1 MiB waits for the stalled client, instead of holding
// every event it can. Counted where the follow hands records to the stream (a real store, its
// follow counted): what the stream read past what the client took is the socket's buffers and
// about 1 MiB. The byte bound paces, never drops: resumed, the client gets every event in order.
const BIG = 'q'.repeat(32 * 1024)
const BIG_N = 600
let read = 0
const counted = createMemoryStreamStore()
const countingStore = new Proxy(counted, {
  get(target, prop, receiver) {
    if (prop !== 'follow') return Reflect.get(target, prop, receiver)
    return (runId: string, opts?: Parameters<MemoryStreamStore['follow']>[1]) => {
      const follow = target.follow(runId, opts)
      return {
        [Symbol.asyncIterator]() {
          const it = follow[Symbol.asyncIterator]()
          return {
            next: async () => {
              const r = await it.next()
              if (r.done !== true) read++
              return r
            },
            return: (v?: unknown) => it.return?.(v) ?? Promise.resolve({ done: true as const, value: undefined }),
          }
        },
      }
    }
  },
})

describeMatrix(
  'slow SSE client, large events (F14 in bytes)',
  () => createHandler({ store: countingStore, maxQueuedBytes: 1024 * 1024, heartbeatMs: 200 }),
  (t) => {
    it('reads the store only ~maxQueuedBytes ahead of a stalled client; resumed, it gets every event in order', async () => {
      const runId = `big-${t().transport}`
      const ids = [(await counted.append(runId, { kind: 'flow.started', flow: runId, data: { name: 'big', input: null, steps: {} } })).id]
      read = 0
      const slow = await stalledSseClient(t().origin, `/flows/runs/${runId}/stream`, { keep: true })
      for (let i = 0; i < BIG_N; i++) {
        ids.push((await counted.append(runId, { kind: 'user.tick', flow: runId, data: { i, pad: BIG } })).id)
        if (i % 20 === 0) await new Promise((r) => setImmediate(r))
      }
      // the stream stops reading: the count settles well below what was appended
      let last = -1
      await waitFor(async () => {
        const now = read
        await new Promise((r) => setTimeout(r, 300))
        const settled = read === now && now === last
        last = now
        return settled
      }, 'the follow to stop reading')
      expect(read).toBeLessThan(BIG_N / 2)
      // paced, not dropped: heartbeats keep going, and once it reads it gets everything
      await new Promise((r) => setTimeout(r, 600))
      expect(slow.closed()).toBe(false)
      ids.push((await counted.append(runId, { kind: 'flow.completed', flow: runId, data: { duration: 1 } })).id)
      slow.resume()
      await waitFor(slow.ended, 'the end frame after flow.completed', 15_000)
      slow.close()
      expect(slow.ids()).toEqual(ids)
    })
  },
  ['node', 'express', 'hono', 'h3'],
)
