import { type EventRecord, isLeanflowError, isTerminalKind, type StreamStore } from '@leanflow/core'

const encoder = new TextEncoder()

/** Settings shared by every SSE stream of one handler. */
export interface SseSettings {
  heartbeatMs: number
  maxQueuedFrames: number
  maxStreams: number
  retryMs: number
  onError: (err: unknown) => void
  /** Open streams of this handler (mutated). */
  counter: { open: number }
}

/** Response headers of every SSE answer (no caching, no proxy buffering). */
export const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  'x-accel-buffering': 'no',
} as const

/** One SSE frame; every line of `data` gets its own `data:` field (multi-line safe). */
export function frame(fields: { id?: string; event?: string; data: string }): string {
  let out = ''
  if (fields.event !== undefined) out += `event: ${fields.event}\n`
  if (fields.id !== undefined) out += `id: ${fields.id}\n`
  for (const line of fields.data.split(/\r\n|\r|\n/)) out += `data: ${line}\n`
  return `${out}\n`
}

/** The frame of one stored event: `id:` = the event id, `data:` = the JSON record. */
export function eventFrame(e: EventRecord): string {
  return frame({ id: e.id, data: JSON.stringify(e) })
}

/**
 * Encoded frames of the events sent in the current turn of the event loop, per store, keyed
 * by run, id and kind: the streams that follow one run get a live event in the same turn, so
 * it is stringified and encoded once, not once per stream. Records are never shared between
 * followers (each stream's follow decodes its own), only these bytes. Cleared by the next
 * timer (setTimeout 0, a Web API too), so a run deleted and written again gets no old frame.
 */
let frameCache: Map<StreamStore, Map<string, Uint8Array>> | undefined
const clearFrameCache = () => {
  frameCache = undefined
}

/** The encoded {@link eventFrame} of `e`, shared by every stream of `store` that sends it in this turn. */
function encodedEventFrame(store: StreamStore, runId: string, e: EventRecord): Uint8Array {
  if (frameCache === undefined) {
    frameCache = new Map()
    setTimeout(clearFrameCache, 0)
  }
  let cache = frameCache.get(store)
  if (cache === undefined) {
    cache = new Map()
    frameCache.set(store, cache)
  }
  const key = `${runId}\n${e.id}\n${e.kind}`
  let bytes = cache.get(key)
  if (bytes === undefined) {
    bytes = encoder.encode(eventFrame(e))
    cache.set(key, bytes)
  }
  return bytes
}

const HEARTBEAT = encoder.encode(':\n\n')

/** A stream that sends `frames` and closes at once (reset, overflow). */
export function oneShotSse(frames: string, status = 200): Response {
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(encoder.encode(frames))
      c.close()
    },
  })
  return new Response(body, { status, headers: SSE_HEADERS })
}

/** The `event: reset` answer: the client's position cannot be resumed. */
export function resetSse(reason: string, message: string, retryMs: number): Response {
  return oneShotSse(`retry: ${retryMs}\n\n${frame({ event: 'reset', data: JSON.stringify({ reason, message }) })}`)
}

/**
 * The live SSE answer for one run: backfill then live events from `store.follow`,
 * heartbeats, `event: end` after a terminal event, `event: reset` on HISTORY_GONE.
 *
 * Backpressure: the follow is read only while fewer than `maxQueuedFrames` frames
 * wait unsent, so memory per client is bounded (the store keeps what it has not
 * read yet). A client whose queue is still full after a whole heartbeat interval
 * without taking a frame is dropped. Cancel or the request's abort releases the
 * follow and the timer at once.
 */
export function sseStream(store: StreamStore, runId: string, after: string | undefined, req: Request, s: SseSettings): Response {
  const ac = new AbortController()
  let timer: ReturnType<typeof setTimeout> | undefined
  let done = false
  let lastPull = Date.now()
  let wake: (() => void) | undefined
  s.counter.open++
  const onAbort = () => finish('close')
  let controller!: ReadableStreamDefaultController<Uint8Array>

  function finish(how: 'close' | 'drop'): void {
    if (done) return
    done = true
    s.counter.open--
    clearTimeout(timer) // the first timeout or the interval (one list of timers)
    ac.abort()
    wake?.()
    req.signal.removeEventListener('abort', onAbort)
    try {
      if (how === 'drop')
        controller.error(new Error('SSE client dropped: it stopped reading (maxQueuedFrames unsent for a heartbeat interval).'))
      else controller.close()
    } catch {
      // already closed or canceled
    }
  }

  function send(text: string | Uint8Array): void {
    if (!done) controller.enqueue(typeof text === 'string' ? encoder.encode(text) : text)
  }

  const full = () => (controller.desiredSize ?? 0) <= 0

  function room(): Promise<void> {
    return new Promise((resolve) => {
      wake = () => {
        wake = undefined
        resolve()
      }
    })
  }

  function tick(): void {
    if (!full()) send(HEARTBEAT)
    else if (Date.now() - lastPull >= s.heartbeatMs) finish('drop')
  }

  async function pump(): Promise<void> {
    try {
      for await (const e of store.follow(runId, { after, signal: ac.signal })) {
        if (done) return
        send(encodedEventFrame(store, runId, e))
        if (isTerminalKind(e.kind)) {
          send(frame({ event: 'end', data: JSON.stringify({ lastEventId: e.id, kind: e.kind }) }))
          finish('close')
          return
        }
        while (full() && !done) await room()
        if (done) return
      }
      finish('close')
    } catch (err) {
      if (done) return
      if (isLeanflowError(err, 'HISTORY_GONE')) {
        send(frame({ event: 'reset', data: JSON.stringify({ reason: 'HISTORY_GONE', message: err.message }) }))
      } else {
        s.onError(err)
      }
      finish('close')
    }
  }

  const body = new ReadableStream<Uint8Array>(
    {
      start(c) {
        controller = c
        if (req.signal.aborted) {
          queueMicrotask(onAbort)
          return
        }
        req.signal.addEventListener('abort', onAbort, { once: true })
        send(`retry: ${s.retryMs}\n:ok\n\n`)
        // the first heartbeat comes after a random ½–1 interval: streams opened together (a
        // reconnect storm, a deploy) do not all write at the same moment of every interval
        timer = setTimeout(
          () => {
            tick()
            if (!done) timer = setInterval(tick, s.heartbeatMs)
          },
          s.heartbeatMs * (0.5 + Math.random() / 2),
        )
        void pump()
      },
      pull() {
        lastPull = Date.now()
        wake?.()
      },
      cancel() {
        finish('close')
      },
    },
    new CountQueuingStrategy({ highWaterMark: s.maxQueuedFrames }),
  )
  return new Response(body, { status: 200, headers: SSE_HEADERS })
}
