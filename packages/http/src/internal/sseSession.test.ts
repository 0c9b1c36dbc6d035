import { createMemoryStreamStore } from '@leanflow/core'
import { describe, expect, it } from 'vitest'
import { createFrameCache } from './frameCache.js'
import { SseSession, type SseSettings } from './sseSession.js'
import type { SsePeer } from './sseSink.js'

const decoder = new TextDecoder()
const started = (runId: string) => ({ kind: 'flow.started', flow: runId, data: { name: 's', input: null, steps: {} } })
const note = (runId: string, i: number) => ({ kind: 'user.note', flow: runId, data: { i } })
const settings = (over: Partial<SseSettings> = {}): SseSettings => ({
  heartbeatMs: 60_000,
  maxQueuedFrames: 1000,
  maxQueuedBytes: 8 * 1024 * 1024,
  maxStreams: 100,
  retryMs: 1000,
  onError: (err) => {
    throw err
  },
  counter: { open: 0 },
  frames: createFrameCache(),
  ...over,
})
const until = async (check: () => boolean) => {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 5))
  expect(check()).toBe(true)
}

/** A sink that records chunks and takes bytes only while `open` (a socket whose buffer filled up). */
function recordingSink() {
  const chunks: string[] = []
  const state = { open: true, closed: false, failed: undefined as Error | undefined, peer: undefined as SsePeer | undefined }
  const open = (peer: SsePeer) => {
    state.peer = peer
    return {
      write(bytes: Uint8Array) {
        chunks.push(decoder.decode(bytes))
        return state.open
      },
      close() {
        state.closed = true
      },
      fail(err: Error) {
        state.failed = err
      },
    }
  }
  const text = () => chunks.join('')
  const ids = () => [...text().matchAll(/^id: (.+)$/gm)].map((m) => m[1])
  return { chunks, state, open, text, ids }
}

/** A session on a new run `runId` whose sink took the first chunk and then stopped taking bytes. */
async function stalledSession(runId: string, over: Partial<SseSettings>) {
  const store = createMemoryStreamStore()
  const first = await store.append(runId, started(runId))
  const s = settings(over)
  const session = new SseSession(store, runId, undefined, new AbortController().signal, s)
  const sink = recordingSink()
  session.attach(sink.open)
  sink.state.open = false
  sink.state.peer?.ready()
  return { store, s, sink, first }
}

describe('SseSession', () => {
  it('queues frames until a sink attaches, then writes them as one chunk and streams the rest live', async () => {
    const store = createMemoryStreamStore()
    const a = await store.append('r1', started('r1'))
    const s = settings()
    const session = new SseSession(store, 'r1', undefined, new AbortController().signal, s)
    expect(s.counter.open).toBe(1)
    const b = await store.append('r1', note('r1', 1))
    await new Promise((r) => setTimeout(r, 10))
    const sink = recordingSink()
    expect(session.attach(sink.open)).toBe(true)
    expect(session.attach(recordingSink().open)).toBe(false) // one transport only
    sink.state.peer?.ready()
    expect(sink.chunks).toHaveLength(1)
    expect(sink.text().startsWith('retry: 1000\n')).toBe(true)
    expect(sink.ids()).toEqual([a.id, b.id])
    const c = await store.append('r1', note('r1', 2))
    await until(() => sink.ids().length === 3)
    expect(sink.chunks).toHaveLength(2)
    expect(sink.ids()[2]).toBe(c.id)
    session.gone()
    expect(s.counter.open).toBe(0)
    expect(sink.state.closed).toBe(true)
  })

  it('holds frames while the sink is full and writes them together when it is ready again', async () => {
    const store = createMemoryStreamStore()
    await store.append('r2', started('r2'))
    const session = new SseSession(store, 'r2', undefined, new AbortController().signal, settings())
    const sink = recordingSink()
    session.attach(sink.open)
    sink.state.peer?.ready()
    await until(() => sink.ids().length === 1)
    sink.state.open = false
    await store.append('r2', note('r2', 1)) // written, then the sink says "full"
    await until(() => sink.ids().length === 2)
    const before = sink.chunks.length
    for (let i = 2; i <= 5; i++) await store.append('r2', note('r2', i))
    await new Promise((r) => setTimeout(r, 20))
    expect(sink.chunks.length).toBe(before) // waiting, not written
    sink.state.open = true
    sink.state.peer?.ready()
    expect(sink.chunks.length).toBe(before + 1) // one chunk for the four frames
    expect(sink.ids()).toHaveLength(6)
    session.gone()
  })

  it('after the terminal event writes end and closes, even when the run ended before a sink attached', async () => {
    const store = createMemoryStreamStore()
    const a = await store.append('r3', started('r3'))
    const z = await store.append('r3', { kind: 'flow.completed', flow: 'r3', data: { duration: 1 } })
    const s = settings()
    const session = new SseSession(store, 'r3', undefined, new AbortController().signal, s)
    await until(() => s.counter.open === 0) // finished: follow and timer released
    const sink = recordingSink()
    session.attach(sink.open)
    sink.state.peer?.ready()
    expect(sink.ids()).toEqual([a.id, z.id])
    expect(sink.text()).toContain(`event: end\ndata: {"lastEventId":"${z.id}","kind":"flow.completed"}`)
    expect(sink.state.closed).toBe(true)
  })

  it('drops a client whose queue stays full for a heartbeat interval; memory stays bounded', async () => {
    const { store, s, sink } = await stalledSession('r4', { heartbeatMs: 40, maxQueuedFrames: 5 })
    for (let i = 0; i < 50; i++) await store.append('r4', note('r4', i))
    await until(() => sink.state.failed !== undefined)
    expect(sink.state.failed?.message).toMatch(/stopped reading/)
    expect(s.counter.open).toBe(0)
    expect(sink.ids().length).toBeLessThan(10) // the follow stopped reading at maxQueuedFrames
  })

  it('past maxQueuedBytes the follow waits for the client (paced, not dropped); it reads every event once the client does', async () => {
    const { store, s, sink, first: a } = await stalledSession('r6', { heartbeatMs: 20, maxQueuedBytes: 10_000 })
    const pad = 'x'.repeat(4000)
    const ids = [a.id]
    for (let i = 0; i < 20; i++) ids.push((await store.append('r6', { kind: 'user.note', flow: 'r6', data: { i, pad } })).id)
    await new Promise((r) => setTimeout(r, 150)) // several heartbeat intervals
    expect(sink.state.failed).toBeUndefined()
    // the client takes one chunk (and fills up again): what waited is ~maxQueuedBytes, not all 20
    const before = sink.chunks.length
    sink.state.peer?.ready()
    const waited = sink.chunks.slice(before).join('')
    expect([...waited.matchAll(/^id: /gm)].length).toBeLessThanOrEqual(4) // flow.started and 3 of 4,000 B
    sink.state.open = true
    sink.state.peer?.ready()
    await until(() => sink.ids().length === ids.length)
    expect(sink.ids()).toEqual(ids)
    expect(s.counter.open).toBe(1)
  })

  it('ends at once when the request signal aborts', async () => {
    const store = createMemoryStreamStore()
    await store.append('r5', started('r5'))
    const ac = new AbortController()
    const s = settings()
    const session = new SseSession(store, 'r5', undefined, ac.signal, s)
    const sink = recordingSink()
    session.attach(sink.open)
    ac.abort()
    expect(s.counter.open).toBe(0)
    expect(sink.state.closed).toBe(true)
  })
})
