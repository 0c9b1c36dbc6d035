// The SSE route, GET /runs/:runId/stream: where a stream starts. The path of its bytes:
// SseSession (sseSession.ts, the source) → a sink (sseSink.ts): the Web body (webSseSink.ts) or,
// under @leanflow/http/node, the ServerResponse itself (nodeSseSink.ts).
import { compareEventIds, type EventRecord, isLeanflowError } from '@leanflow/core'
import type { RouteContext } from './answerRoute.js'
import { type RunEndRef, runNotFound, runTail } from './lastEvent.js'
import { eventId, queryParam } from './query.js'
import { reasonPhrase } from './reasonPhrase.js'
import { laterFrame, oneShotSse, resetSse, SSE_HEADERS } from './sseFrames.js'
import { SseSession } from './sseSession.js'
import { SseBody } from './webSseSink.js'

/**
 * Answers `GET /runs/:runId/stream`. The position (`Last-Event-ID`, else `?after=`) is checked
 * against the run's last event first: 404 for an unknown run, 204 at or past the end of a
 * finished run (EventSource stops), `event: reset` for a position the log cannot resume from,
 * `retry:` and close past `maxStreams` or while the store is down. Anything else is the live
 * stream: an {@link SseSession} carried by an {@link SseBody}, the Web sink, which the Node
 * adapter may hand to its own sink instead (nodeSseSink.ts).
 */
export async function answerStream(c: RouteContext, runId: string): Promise<Response> {
  // Last-Event-ID wins: EventSource reconnects with the URL it started with, plus the header
  const header = c.req.headers.get('last-event-id')
  const position =
    header !== null && header !== '' ? eventId(header, 'Last-Event-ID') : eventId(queryParam(c.url, 'after'), 'Query parameter after')
  let tail: { last?: EventRecord; end?: RunEndRef }
  try {
    tail = await runTail(c.store, runId, position)
  } catch (err) {
    // the store is down or full, or failed unexpectedly: a 5xx would make EventSource give up, so
    // ask it to come back later; the error itself is the operator's (onError), as on a JSON route
    if (isLeanflowError(err) && (err.status ?? 0) >= 500) {
      c.sse.onError(err)
      return oneShotSse(laterFrame(c.sse.retryMs, err.code))
    }
    throw err
  }
  const { last, end } = tail
  if (last === undefined) {
    if (position === undefined) throw runNotFound(runId)
    return resetSse('RUN_NOT_FOUND', `Run "${runId}" no longer exists (retention passed); its history is gone.`, c.sse.retryMs)
  }
  // at or past the terminal event of a finished run (events after it too): 204 makes EventSource stop for good
  if (position !== undefined && end !== undefined && compareEventIds(position, end.id) >= 0) {
    return new Response(null, { status: 204, statusText: reasonPhrase(204) })
  }
  const past = position === undefined ? -1 : compareEventIds(position, last.id)
  if (past > 0) {
    // past the last event of a live run: the client saw events this log does not have
    return resetSse(
      'UNKNOWN_POSITION',
      `Position "${position}" is past the last event of run "${runId}" ("${last.id}"): this log does not have the events the client saw (an id from another run, or events the store lost); reload the run from the start.`,
      c.sse.retryMs,
    )
  }
  if (c.sse.counter.open >= c.sse.maxStreams) return oneShotSse(laterFrame(c.sse.retryMs))
  const session = new SseSession(c.store, runId, position, c.req.signal, c.sse)
  return new Response(new SseBody(session), { status: 200, statusText: reasonPhrase(200), headers: SSE_HEADERS })
}
