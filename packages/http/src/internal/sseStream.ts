import type { StreamStore } from '@leanflow/core'
import { SSE_HEADERS } from './sseFrames.js'
import { SseSession, type SseSettings } from './sseSession.js'
import { SSE_SESSION, type SsePeer, type SseSink } from './sseSink.js'

/**
 * The live SSE answer for one run (see {@link SseSession}). The body is a Web stream that
 * pulls: the session writes into it only on a read, one chunk per read (frames that waited
 * meanwhile are joined), so the stream itself queues nothing. The body also carries the
 * session under {@link SSE_SESSION}: `@leanflow/http/node` attaches it to the Node response
 * directly instead of reading the stream (fewer objects and promise hops per event).
 */
export function sseStream(store: StreamStore, runId: string, after: string | undefined, req: Request, s: SseSettings): Response {
  const session = new SseSession(store, runId, after, req.signal, s)
  let controller!: ReadableStreamDefaultController<Uint8Array>
  let pulled: (() => void) | undefined
  let peer: SsePeer | undefined
  const release = () => {
    const r = pulled
    pulled = undefined
    r?.()
  }
  const sink: SseSink = {
    write(bytes) {
      controller.enqueue(bytes)
      release()
      return false // one chunk per read
    },
    close() {
      release()
      try {
        controller.close()
      } catch {
        // canceled by the reader
      }
    },
    fail(err) {
      release()
      try {
        controller.error(err)
      } catch {
        // canceled by the reader
      }
    },
  }
  const body = new ReadableStream<Uint8Array>(
    {
      start(c) {
        controller = c
      },
      pull() {
        // the first read attaches this stream, unless a transport took the session already
        const attach = (p: SsePeer) => {
          peer = p
          return sink
        }
        if (peer === undefined && !session.attach(attach)) {
          controller.close()
          return
        }
        return new Promise<void>((resolve) => {
          pulled = resolve
          peer?.ready()
        })
      },
      cancel() {
        session.gone()
      },
    },
    { highWaterMark: 0 },
  )
  Object.defineProperty(body, SSE_SESSION, { value: session })
  return new Response(body, { status: 200, headers: SSE_HEADERS })
}
