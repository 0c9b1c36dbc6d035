import type { EventRecord, StreamStore } from '@leanflow/core'

const encoder = new TextEncoder()

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
export function encodedEventFrame(store: StreamStore, runId: string, e: EventRecord): Uint8Array {
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
