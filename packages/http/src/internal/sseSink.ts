// The interface between an SSE stream and where its bytes go. The stream (sseSession.ts) makes
// the frames and is their source; a sink delivers them. There are two sinks, side by side:
//   webSseSink.ts   the answer's body, a Web ReadableStream: any framework, any runtime;
//   nodeSseSink.ts  a Node ServerResponse written directly, chosen by @leanflow/http/node (and
//                   ./express) when the answer's body is a leanflow SSE body nobody has read yet.
// Whichever attaches first has the stream; the other is refused.

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

/** An SSE stream waiting for its sink. */
export interface SseSource {
  /** Connects the stream to a sink made by `open`; `false` (and `open` is not called) when another sink has it. */
  attach(open: (peer: SsePeer) => SseSink): boolean
  /** Stop watching the request's abort signal: the sink reports the client leaving through {@link SsePeer.gone}. */
  releaseSignal(): void
  /** Ends the stream: the answer that carries it was canceled (whoever held it will not deliver it). */
  cancel(): void
}
