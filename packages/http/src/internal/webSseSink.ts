// The Web sink of an SSE stream (see sseSink.ts): the answer's body, a Web ReadableStream that
// any framework or runtime reads. Its twin for Node is nodeSseSink.ts.
import type { SsePeer, SseSink, SseSource } from './sseSink.js'

const BRAND = Symbol.for('leanflow.http.sseBody')

/**
 * The body of a live SSE answer: a Web stream that pulls. The stream's source writes into it
 * only on a read, one chunk per read (frames that waited meanwhile are joined), so the body
 * itself queues nothing. The first read attaches this body as the source's sink, unless the
 * Node sink took the source first: `@leanflow/http/node` finds an unread `SseBody` with
 * {@link isSseBody} and writes {@link SseBody.source} straight to the `ServerResponse` (fewer
 * objects and promise hops per event). The body is what the handler answers with and what
 * middleware hands on when it wraps the answer in a new `Response`, so the source travels with it.
 */
export class SseBody extends ReadableStream<Uint8Array> {
  /** The stream whose bytes this body carries. */
  readonly source: SseSource
  /** Told when the stream is cut (see {@link SseBody.onCut}). */
  private readonly cuts: Array<(err: Error) => void>

  constructor(source: SseSource) {
    const cuts: Array<(err: Error) => void> = []
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
        for (const cut of cuts.splice(0)) cut(err)
      },
    }
    const open = (p: SsePeer) => {
      peer = p
      return sink
    }
    super(
      {
        start(c) {
          controller = c
        },
        pull() {
          // the first read attaches this body, unless the Node sink took the source already
          if (peer === undefined && !source.attach(open)) {
            controller.close()
            return
          }
          return new Promise<void>((resolve) => {
            pulled = resolve
            peer?.ready()
          })
        },
        cancel() {
          source.cancel()
        },
      },
      { highWaterMark: 0 },
    )
    this.source = source
    this.cuts = cuts
  }

  /**
   * Calls `cut` when the stream is cut (a client that stopped reading is dropped): for an
   * adapter whose server learns of a body's error only on a read it has pending, which a
   * stalled client never lets it make (`@hono/node-server`), to end the connection itself.
   */
  onCut(cut: (err: Error) => void): void {
    this.cuts.push(cut)
  }
}

/**
 * True for the body of a live leanflow SSE answer. A brand (a `Symbol.for` key), not
 * `instanceof`: the handler and the Node adapter may come from two copies (ESM and CJS builds).
 */
export function isSseBody(body: unknown): body is SseBody {
  return typeof body === 'object' && body !== null && (body as Record<symbol, unknown>)[BRAND] === true
}

Object.defineProperty(SseBody.prototype, BRAND, { value: true })
