// The live SSE stream of one run, the source its sinks (sseSink.ts) deliver.
import { type EventRecord, isLeanflowError, isTerminalKind, type StreamStore } from '@leanflow/core'
import { concatBytes } from './bytes.js'
import type { FrameCache } from './frameCache.js'
import { frame, laterFrame, resetFrame } from './sseFrames.js'
import type { SsePeer, SseSink, SseSource } from './sseSink.js'

const encoder = new TextEncoder()

/**
 * The error a dropped client's Web body fails with: coded as Node's premature close, which is
 * what it is to a server writing the body (`@hono/node-server` logs one line at `info` for it,
 * and a stack at `error`, plus an `Error: …` text written into the stream, for any other).
 */
function dropped(): Error {
  const err = new Error('SSE client dropped: it stopped reading (maxQueuedFrames unsent for a heartbeat interval).')
  return Object.assign(err, { code: 'ERR_STREAM_PREMATURE_CLOSE' })
}
const HEARTBEAT = encoder.encode(':\n\n')

/** Settings shared by every SSE stream of one handler. */
export interface SseSettings {
  heartbeatMs: number
  maxQueuedFrames: number
  /** Bytes of waiting frames past which the follow is not read (pacing only: the drop rule counts frames). */
  maxQueuedBytes: number
  maxStreams: number
  retryMs: number
  onError: (err: unknown) => void
  /** Open streams of this handler (mutated). */
  counter: { open: number }
  /** The handler's encoded frames of this turn, shared by its streams. */
  frames: FrameCache
}

/**
 * One SSE stream of one run, the source of its frames: backfill then live events from
 * `store.follow`, heartbeats, `event: end` after a terminal event, `event: reset` on
 * HISTORY_GONE, written to whichever sink attaches first (sseSink.ts: the Web body on its first
 * read, or the Node sink).
 *
 * Backpressure: frames the sink does not take wait here; the follow is read only while fewer
 * than `maxQueuedFrames` wait and their bytes stay under `maxQueuedBytes`, so memory per client
 * is bounded however large the events are (the store keeps what it has not read yet). A client
 * whose queue is still full of frames a whole heartbeat interval after the sink last took bytes
 * is dropped; the byte bound only paces the follow (heartbeats still queue behind it, so a
 * client that never reads again fills its frames and is dropped too). The client leaving
 * releases the follow and the timer at once.
 */
export class SseSession implements SseSource, SsePeer {
  private readonly ac = new AbortController()
  private sink: SseSink | undefined
  private pending: Uint8Array[] = []
  /** Bytes in `pending`. */
  private pendingBytes = 0
  /** The sink wants no bytes now (or there is none yet). */
  private blocked = true
  private done = false
  /** Close the sink once the pending frames are written (the run ended before a sink attached). */
  private closing = false
  private lastReady = Date.now()
  /** Reads the next event once the sink took the waiting frames (set while the queue is full). */
  private wake: (() => void) | undefined
  private iterator: AsyncIterator<EventRecord> | undefined
  private timer: ReturnType<typeof setTimeout> | undefined
  private signal: AbortSignal | undefined
  private readonly onAbort = () => this.gone()

  constructor(
    private readonly store: StreamStore,
    private readonly runId: string,
    private readonly after: string | undefined,
    signal: AbortSignal,
    private readonly s: SseSettings,
  ) {
    s.counter.open++
    if (signal.aborted) {
      queueMicrotask(this.onAbort)
      return
    }
    this.signal = signal
    signal.addEventListener('abort', this.onAbort, { once: true })
    this.send(encoder.encode(`retry: ${s.retryMs}\n:ok\n\n`))
    // the first heartbeat comes after a random ½–1 interval: streams opened together (a
    // reconnect storm, a deploy) do not all write at the same moment of every interval
    this.timer = setTimeout(
      () => {
        this.tick()
        if (!this.done) this.timer = setInterval(() => this.tick(), s.heartbeatMs)
      },
      s.heartbeatMs * (0.5 + Math.random() / 2),
    )
    this.pump()
  }

  /** Connects a sink; the sink then calls {@link ready} whenever it takes bytes. */
  attach(open: (peer: SsePeer) => SseSink): boolean {
    if (this.sink !== undefined) return false
    this.sink = open(this)
    if (this.done && !this.closing) this.sink.close()
    return true
  }

  /**
   * Attached to a sink that reports the client leaving itself: stop listening to the
   * request's signal, so the request object is not kept alive for the stream's lifetime.
   */
  releaseSignal(): void {
    this.signal?.removeEventListener('abort', this.onAbort)
    this.signal = undefined
  }

  ready(): void {
    const sink = this.sink
    if (sink === undefined || (this.done && !this.closing)) return
    this.lastReady = Date.now()
    if (this.pending.length > 0) {
      const chunk = concatBytes(this.pending)
      this.pending = []
      this.pendingBytes = 0
      this.blocked = !sink.write(chunk)
    } else this.blocked = false
    if (this.closing) {
      this.closing = false
      sink.close()
      return
    }
    const wake = this.wake
    this.wake = undefined
    if (wake !== undefined && !this.held()) wake()
    else this.wake = wake
  }

  gone(): void {
    this.finish('gone')
  }

  cancel(): void {
    this.finish('gone')
  }

  private send(bytes: Uint8Array): void {
    if (this.done) return
    if (!this.blocked && this.sink !== undefined) this.blocked = !this.sink.write(bytes)
    else {
      this.pending.push(bytes)
      this.pendingBytes += bytes.byteLength
    }
  }

  /** As many frames wait as a client may leave unread: a heartbeat interval more of it drops the client. */
  private full(): boolean {
    return this.pending.length >= this.s.maxQueuedFrames
  }

  /** The follow waits for the sink: the frames wait full, or their bytes reached `maxQueuedBytes`. */
  private held(): boolean {
    return this.full() || this.pendingBytes >= this.s.maxQueuedBytes
  }

  private tick(): void {
    if (!this.full()) this.send(HEARTBEAT)
    else if (Date.now() - this.lastReady >= this.s.heartbeatMs) this.finish('drop')
  }

  /**
   * Ends the stream: `end` after the run's last frame (written first, even to a slow client:
   * what waits is bounded), `gone` when the client left, `drop` for a client that stopped reading.
   */
  private finish(how: 'end' | 'gone' | 'drop'): void {
    if (this.done) return
    this.done = true
    this.s.counter.open--
    clearTimeout(this.timer) // the first timeout or the interval (one list of timers)
    this.ac.abort()
    this.wake = undefined
    const it = this.iterator
    this.iterator = undefined
    // release the follow now (its subscription), also when it waits in a yield for a next() that will not come
    it?.return?.().catch(() => {})
    this.releaseSignal()
    const sink = this.sink
    if (how === 'end' && this.pending.length > 0) {
      if (sink === undefined) {
        this.closing = true // attach() writes them, then closes
        return
      }
      const chunk = concatBytes(this.pending)
      this.pending = []
      sink.write(chunk)
    }
    this.pending = []
    this.pendingBytes = 0
    if (how === 'drop') sink?.fail(dropped())
    else sink?.close()
  }

  /**
   * Reads the follow with plain callbacks rather than `for await`: nothing of an event (its
   * record, its iterator result) stays referenced while the stream waits for the next one, so
   * idle streams hold no old records and the young generation has little to copy.
   */
  private pump(): void {
    const { store, runId } = this
    let it: AsyncIterator<EventRecord>
    try {
      it = store.follow(runId, { after: this.after, signal: this.ac.signal })[Symbol.asyncIterator]()
    } catch (err) {
      this.failed(err)
      return
    }
    this.iterator = it
    const next = (): void => {
      it.next().then(onResult, onError)
    }
    const onResult = (r: IteratorResult<EventRecord>): void => {
      if (this.done) return
      if (r.done === true) {
        this.finish('end')
        return
      }
      const e = r.value
      let bytes: Uint8Array
      try {
        bytes = this.s.frames.eventFrame(runId, e)
      } catch (err) {
        // a frame that cannot be made (a record the store's reader let through) ends the stream as
        // a failed follow does, never as an unhandled rejection that ends the process
        onError(err)
        return
      }
      this.send(bytes)
      if (isTerminalKind(e.kind)) {
        this.send(encoder.encode(frame({ event: 'end', data: JSON.stringify({ lastEventId: e.id, kind: e.kind }) })))
        this.finish('end')
      } else if (this.held())
        this.wake = next // ready() goes on once the sink took the waiting frames
      else next()
    }
    const onError = (err: unknown): void => {
      if (!this.done) this.failed(err)
    }
    next()
  }

  /**
   * The follow failed. HISTORY_GONE: `event: reset`. Another LeanflowError of a 4xx status
   * with a position (the store refuses it): `event: reset` with that code, so the client starts
   * over without one. Anything else (the store is down, an unexpected error) goes to `onError`
   * and ends the stream with a longer `retry:` (5 × retryMs): EventSource reconnects with
   * Last-Event-ID and misses nothing. Never a 5xx: the headers are sent, and EventSource
   * would give up on one.
   */
  private failed(err: unknown): void {
    const status = isLeanflowError(err) ? (err.status ?? 0) : 0
    if (isLeanflowError(err) && (err.code === 'HISTORY_GONE' || (status >= 400 && status < 500 && this.after !== undefined))) {
      this.send(encoder.encode(resetFrame(err.code, err.message)))
    } else {
      this.s.onError(err)
      this.send(encoder.encode(laterFrame(this.s.retryMs)))
    }
    this.finish('end')
  }
}
