// F14: a raw TCP client that asks for a run's stream and then stops reading while 10,000
// events (2 KB each) are appended. The handler drops it once its unsent frames pass
// maxQueuedFrames (bounded memory); a fast client on the same run gets every event, in order.
import { createMemoryStreamStore, type MemoryStreamStore } from '@leanflow/core'
import { createHandler } from '@leanflow/http'
import { beforeAll, expect, it } from 'vitest'
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
      await waitFor(() => runs.followerCount() === base + 1, 'the slow client to be dropped')
      ids.push((await store.append(runId, { kind: 'flow.completed', flow: runId, data: { duration: 1 } })).id)
      const { ids: fastIds, end: fastEnd } = await fast
      expect(fastEnd).toBe(true)
      expect(fastIds).toEqual(ids)

      // what the slow client could still read is bounded: far less than what was appended
      slow.resume()
      await waitFor(slow.closed, 'the slow connection to be closed')
      expect(slow.bytes()).toBeLessThan((N * PAD.length) / 2)
      await waitFor(() => runs.followerCount() === base, 'every follower released')
    })
  },
  ['node', 'express', 'hono', 'h3'],
)
