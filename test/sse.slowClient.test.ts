// F14: a raw TCP client that asks for a run's stream and then stops reading while 10,000
// events (2 KB each) are appended. The handler drops it once its unsent frames pass
// maxQueuedFrames (bounded memory); a fast client on the same run gets every event, in order.
import net from 'node:net'
import { createMemoryStreamStore, type MemoryStreamStore } from '@leanflow/core'
import { createHandler } from '@leanflow/http'
import { beforeAll, expect, it } from 'vitest'
import { memoryStoreInternals } from '../packages/core/src/memoryStreamStore.js'
import { describeMatrix, readSse, waitFor } from './helpers/httpMatrix.js'

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

      const { port, hostname } = new URL(t().origin)
      const slow = net.connect(Number(port), hostname)
      let slowBytes = 0
      let slowClosed = false
      slow.on('data', (c: Buffer) => {
        slowBytes += c.byteLength
      })
      slow.on('close', () => {
        slowClosed = true
      })
      slow.on('error', () => {})
      await new Promise<void>((r) => slow.once('connect', () => r()))
      slow.write(`GET /flows/runs/${runId}/stream HTTP/1.1\r\nHost: ${hostname}\r\nAccept: text/event-stream\r\n\r\n`)
      await waitFor(() => slowBytes > 0, 'the slow client to get its headers')
      slow.pause() // stops reading from now on

      const fastIds: string[] = []
      let fastEnd = false
      const fast = (async () => {
        for await (const f of readSse(await t().fetch(`/flows/runs/${runId}/stream`))) {
          if (f.event === 'end') {
            fastEnd = true
            break
          }
          if (f.id !== undefined) fastIds.push(f.id)
        }
      })()
      await waitFor(() => runs.followerCount() === base + 2, 'both followers')

      for (let i = 0; i < N; i++) {
        ids.push((await store.append(runId, { kind: 'user.tick', flow: runId, data: { i, pad: PAD } })).id)
        if (i % 100 === 0) await new Promise((r) => setImmediate(r))
      }
      await waitFor(() => runs.followerCount() === base + 1, 'the slow client to be dropped')
      ids.push((await store.append(runId, { kind: 'flow.completed', flow: runId, data: { duration: 1 } })).id)
      await fast
      expect(fastEnd).toBe(true)
      expect(fastIds).toEqual(ids)

      // what the slow client could still read is bounded: far less than what was appended
      slow.resume()
      await waitFor(() => slowClosed, 'the slow connection to be closed')
      expect(slowBytes).toBeLessThan((N * PAD.length) / 2)
      await waitFor(() => runs.followerCount() === base, 'every follower released')
    })
  },
  ['node', 'express', 'hono', 'h3'],
)
