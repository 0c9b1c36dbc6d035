// The Node sink of an SSE stream (see sseSink.ts): the stream's frames written straight to a
// Node ServerResponse, no Web stream in between. Its twin for every other runtime is
// webSseSink.ts; sendWebResponse (nodeBridge.ts) chooses this one for an unread SseBody.
import type { ServerResponse } from 'node:http'
import type { SsePeer, SseSource } from './sseSink.js'

/**
 * Writes an SSE stream to `res`, whose head is already written: frames go out with
 * `res.write`, `drain` asks for more, `close` ends the stream. `false` (and nothing is
 * written) when another sink has the stream.
 */
export function writeSseToNode(res: ServerResponse, source: SseSource): boolean {
  let attached: SsePeer | undefined
  source.attach((peer) => {
    attached = peer
    const onDrain = () => peer.ready()
    const onClose = () => {
      res.off('drain', onDrain)
      peer.gone()
    }
    res.on('drain', onDrain)
    res.once('close', onClose)
    let last = 0
    return {
      write: (bytes) => {
        const ok = res.write(bytes)
        // A frame after a quiet spell (a live event) leaves now rather than at the end of the
        // tick, so each stream of a run gets it as soon as its turn comes; frames written back
        // to back (a backfill) stay corked until the end of the tick and leave in one write.
        const now = performance.now()
        if (now - last > 1 && res.socket?.writableCorked === 1) res.socket.uncork()
        last = now
        return ok
      },
      close: () => {
        if (!res.writableEnded) res.end()
      },
      fail: () => res.destroy(),
    }
  })
  if (attached === undefined) return false // another sink has it
  source.releaseSignal() // `close` on res reports the client leaving
  if (res.closed)
    attached.gone() // the client left before the stream was attached
  else attached.ready()
  return true
}
