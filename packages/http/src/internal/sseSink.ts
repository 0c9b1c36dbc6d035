/**
 * The bytes side of an SSE stream, shared by the handler (which makes the frames) and the
 * transports (which deliver them): a Web `ReadableStream` for any framework, or a Node
 * `ServerResponse` written directly by `@leanflow/http/node`.
 *
 * A global symbol, so a handler and an adapter from two copies (ESM and CJS builds) still meet.
 */
export const SSE_SESSION = Symbol.for('leanflow.http.sseSession')

/** Where an SSE stream's bytes go. */
export interface SseSink {
  /** Takes one chunk; `false` when the sink wants no more until it calls `ready()`. */
  write(bytes: Uint8Array): boolean
  /** Ends the stream after what was written (the run ended, the client left). */
  close(): void
  /** Cuts the stream (a client that stopped reading is dropped). */
  fail(err: Error): void
}

/** What a sink calls back on its stream. */
export interface SsePeer {
  /** The sink takes bytes again (a pull, a `drain`). */
  ready(): void
  /** The client went away. */
  gone(): void
}

/** An SSE stream waiting for its transport; found on the Response body under {@link SSE_SESSION}. */
export interface SseAttachable {
  /** Connects the stream to a sink made by `open`; `false` (and `open` is not called) when another transport has it. */
  attach(open: (peer: SsePeer) => SseSink): boolean
  /** Stop watching the request's abort signal: the transport reports the client leaving through {@link SsePeer.gone}. */
  releaseSignal(): void
}
