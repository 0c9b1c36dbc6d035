// SSE of a run whose log goes on after its terminal event (a step that completed after a cancel:
// the reducer lets such events finish a step, docs/reference/events.md), on the Redis store (real
// redis-server), through the handler and real servers: the contract (DESIGN.md, SSE) still holds.
// A reconnect at or past the terminal event gets 204 — with the terminal id as an EventSource
// sends it after `end`, and with the id of a later event — never a stream that stays open on
// heartbeats (a second terminal event changes nothing: the run ended at the first); a
// position before the end streams to the terminal event, then `end`; an
// EventSource that does not close on `end` stops for good; watchRun from there ends with the
// terminal event. The same with 20 events after the end, more than the handler could find the end
// among (it reads it from the store's `runEnd`, not the log's last events), on both stores.
import { createMemoryStreamStore, type EventRecord, type StreamStore } from '@leanflow/core'
import { createHandler } from '@leanflow/http'
import { type RunEnd, watchRun } from '@leanflow/http/client'
import { createRedisStreamStore, type RedisStreamStore } from '@leanflow/redis'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { describeMatrix, sseIdsUntilEnd } from '../helpers/httpMatrix.js'
import { useRedisServer } from '../helpers/redisServer.js'
import { waitFor } from '../helpers/waitFor.js'

const redis = useRedisServer()
let store: RedisStreamStore

beforeAll(() => {
  store = createRedisStreamStore({ url: redis.url, prefix: 'after-end' })
})
afterAll(async () => {
  await store?.close()
})

let made = 0

/**
 * A run canceled while its step ran; the step's completion lands after `flow.canceled`, and
 * `late` more events after those.
 */
/** Watches `url` with watchRun until it ends or reports an error (within `ms`); its ends and errors. */
async function watchUntilEnd(
  url: string,
  EventSource: NonNullable<Parameters<typeof watchRun>[1]>['EventSource'],
  ms: number,
): Promise<{ ends: RunEnd[]; errors: Error[] }> {
  const ends: RunEnd[] = []
  const errors: Error[] = []
  const w = watchRun(url, { EventSource, onEnd: (e) => ends.push(e), onError: (e) => errors.push(e) })
  try {
    await waitFor(() => ends.length + errors.length > 0, 'the watch to end', ms)
  } finally {
    w.close()
  }
  return { ends, errors }
}

async function runWithEventsAfterEnd(
  late = 0,
  on: StreamStore = store,
): Promise<{ runId: string; events: EventRecord[]; end: EventRecord }> {
  const store = on
  const runId = `after-end-${++made}`
  await store.append(runId, { kind: 'flow.started', flow: runId, data: { name: 'f', input: null, steps: { a: { needs: [] } } } })
  await store.append(runId, { kind: 'step.started', flow: runId, step: 'a', data: { attempt: 1 } })
  const end = await store.append(runId, { kind: 'flow.canceled', flow: runId, data: { reason: 'by hand' } })
  await store.append(runId, { kind: 'step.completed', flow: runId, step: 'a', data: { result: 1, attempt: 1 } })
  await store.append(runId, { kind: 'step.log', flow: runId, step: 'a', data: { level: 'info', message: 'late' } })
  // a second end changes nothing: the run ended at the first
  await store.append(runId, { kind: 'flow.completed', flow: runId, data: { result: 1 } })
  for (let i = 0; i < late; i++)
    await store.append(runId, { kind: 'step.log', flow: runId, step: 'a', data: { level: 'info', message: `later ${i}` } })
  return { runId, events: await store.read(runId), end }
}

describeMatrix(
  'SSE of a run with events after its end',
  () => createHandler({ store, retryMs: 50, heartbeatMs: 100 }),
  (t) => {
    it('a position at the terminal event or past it is 204, not an open stream', async () => {
      const { runId, events, end } = await runWithEventsAfterEnd()
      for (const position of [end.id, events.at(-3)?.id, events.at(-2)?.id, events.at(-1)?.id]) {
        const ac = new AbortController()
        const timer = setTimeout(() => ac.abort(), 3000)
        const res = await t().fetch(`/flows/runs/${runId}/stream`, { headers: { 'last-event-id': String(position) }, signal: ac.signal })
        const body = await res.text().catch(() => 'still open after 3 s')
        clearTimeout(timer)
        expect({ position, status: res.status, body }).toEqual({ position, status: 204, body: '' })
        const viaQuery = await t().fetch(`/flows/runs/${runId}/stream?after=${position}`)
        expect(viaQuery.status, String(position)).toBe(204)
        await viaQuery.body?.cancel()
      }
    })

    it('from before the end it streams to the terminal event, then end', async () => {
      const { runId, events, end } = await runWithEventsAfterEnd()
      const res = await t().fetch(`/flows/runs/${runId}/stream`, { headers: { 'last-event-id': String(events[0]?.id) } })
      expect(res.status).toBe(200)
      const got = await sseIdsUntilEnd(res)
      expect(got).toEqual({
        ids: events.slice(1, events.indexOf(events.find((e) => e.id === end.id) as EventRecord) + 1).map((e) => e.id),
        end: true,
      })
    })

    it('an EventSource that does not close on end stops for good (its reconnect with the terminal id gets 204)', async () => {
      const { runId, end } = await runWithEventsAfterEnd()
      const es = t().eventSource(`/flows/runs/${runId}/stream`)
      const ids: string[] = []
      let ends = 0
      es.addEventListener('message', (m) => ids.push(m.lastEventId))
      es.addEventListener('end', () => ends++)
      try {
        await waitFor(() => ends === 1, 'the end event')
        await waitFor(() => es.readyState === es.CLOSED, 'the EventSource to stop after its reconnect', 5000)
        expect(ids.at(-1)).toBe(end.id)
        expect(ends).toBe(1)
      } finally {
        es.close()
      }
    })

    it('watchRun from the terminal event or a later one ends with the terminal event, no error', async () => {
      if (t().transport === 'handler') return // watchRun reads the end with fetch: a real server
      const { runId, events, end } = await runWithEventsAfterEnd()
      for (const after of [end.id, events.at(-1)?.id]) {
        const seen = await watchUntilEnd(`${t().origin}/flows/runs/${runId}/stream?after=${after}`, t().EventSource, 5000)
        expect({ after, ...seen }).toEqual({ after, ends: [{ lastEventId: end.id, kind: 'flow.canceled' }], errors: [] })
      }
    })
  },
)

const memory = createMemoryStreamStore()

for (const [name, on] of [
  ['redis', () => store],
  ['memory', () => memory],
] as const) {
  describeMatrix(
    `SSE of a run with 20 events after its end (${name} store)`,
    () => createHandler({ store: on(), retryMs: 50, heartbeatMs: 100 }),
    (t) => {
      it('a position at the terminal event or any later one is 204', async () => {
        const { runId, events, end } = await runWithEventsAfterEnd(20, on())
        expect(events.length - events.findIndex((e) => e.id === end.id)).toBe(24)
        for (const position of [end.id, events.at(-21)?.id, events.at(-1)?.id]) {
          const ac = new AbortController()
          const timer = setTimeout(() => ac.abort(), 2000)
          const res = await t().fetch(`/flows/runs/${runId}/stream`, { headers: { 'last-event-id': String(position) }, signal: ac.signal })
          const body = await res.text().catch(() => 'still open after 2 s')
          clearTimeout(timer)
          expect({ position, status: res.status, body }).toEqual({ position, status: 204, body: '' })
        }
      })

      it('from before the end it streams to the terminal event, then end and close', async () => {
        const { runId, events, end } = await runWithEventsAfterEnd(20, on())
        const res = await t().fetch(`/flows/runs/${runId}/stream?after=${events[0]?.id}`)
        expect(res.status).toBe(200)
        expect(await sseIdsUntilEnd(res)).toEqual({ ids: [events[1]?.id, end.id], end: true })
      })

      it('watchRun begun at the terminal event or after it ends with the terminal event', async () => {
        const { runId, events, end } = await runWithEventsAfterEnd(20, on())
        for (const after of [end.id, events.at(-1)?.id]) {
          const seen = await watchUntilEnd(`${t().origin}/flows/runs/${runId}/stream?after=${after}`, t().EventSource, 3000)
          expect({ after, ...seen }).toEqual({ after, ends: [{ lastEventId: end.id, kind: 'flow.canceled' }], errors: [] })
        }
      })
    },
    ['node'],
  )
}
