// The SSE wire format: the frames, the headers of every SSE answer, and the answers that send a
// few frames and close (reset, come back later). The live stream is sseSession.ts.
import type { EventRecord } from '@leanflow/core'
import { reasonPhrase } from './reasonPhrase.js'

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

/** A stream that sends `frames` and closes at once (reset, overflow). */
export function oneShotSse(frames: string, status = 200): Response {
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(encoder.encode(frames))
      c.close()
    },
  })
  return new Response(body, { status, statusText: reasonPhrase(status), headers: SSE_HEADERS })
}

/**
 * A longer `retry:` (5 × retryMs), with `why` as a comment line: what an SSE answer that cannot
 * serve now sends before it closes (the store is down, too many streams), so EventSource comes
 * back later, with Last-Event-ID.
 */
export function laterFrame(retryMs: number, why?: string): string {
  return `retry: ${retryMs * 5}\n${why === undefined ? '' : `: ${why}\n`}\n`
}

/** The `event: reset` frame: the client's position cannot be resumed (`reason`: an error code). */
export function resetFrame(reason: string, message: string): string {
  return frame({ event: 'reset', data: JSON.stringify({ reason, message }) })
}

/** The `event: reset` answer: the client's position cannot be resumed. */
export function resetSse(reason: string, message: string, retryMs: number): Response {
  return oneShotSse(`retry: ${retryMs}\n\n${resetFrame(reason, message)}`)
}
