// The responder: every JSON answer and every error answer of the handler (and of the Node
// adapter) is made here, so an error has one shape and one status table.
import { ERROR_STATUS, isLeanflowError, LeanflowError } from '@leanflow/core'
import { reasonPhrase } from './reasonPhrase.js'

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' }

/** A JSON response. */
export function json(body: unknown, status = 200, headers?: Record<string, string>): Response {
  return new Response(JSON.stringify(body), { status, statusText: reasonPhrase(status), headers: { ...JSON_HEADERS, ...headers } })
}

/** `{ error: { code, message, issues? } }` with the status of the code table. */
export function errorJson(code: string, message: string, status: number, headers?: Record<string, string>, issues?: unknown): Response {
  return json({ error: issues === undefined ? { code, message } : { code, message, issues } }, status, headers)
}

/**
 * Seconds a client is asked to wait (`Retry-After`) before retrying a request that found the
 * store unreachable (503 STORE_UNAVAILABLE).
 */
export const STORE_RETRY_AFTER_S = 2

/**
 * The `Retry-After` of a 429 RATE_LIMITED, in whole seconds: `retryAfterMs` (the
 * `RateLimitedError`'s field) rounded up, at least 1 (0 or an unknown wait: try again in a second).
 */
export function retryAfterSeconds(retryAfterMs: unknown): number {
  const ms = typeof retryAfterMs === 'number' && Number.isFinite(retryAfterMs) ? retryAfterMs : 0
  return Math.max(1, Math.ceil(ms / 1000))
}

/**
 * Maps any thrown value to a response: a LeanflowError with a 4xx status keeps its code and
 * message (429 RATE_LIMITED adds `Retry-After`), with `headers` (set when the Response is made: a
 * Response's headers set afterwards can be lost, see createHandler's `failure`). The server's own
 * failures keep their code with a fixed message and go to `report` (`onError`): 503
 * STORE_UNAVAILABLE (with `Retry-After`), 507 STORE_FULL, and 500 INTERNAL for a LeanflowError
 * `INTERNAL` (a driver error the store did not type) and anything else.
 */
export function errorResponse(err: unknown, report: (err: unknown) => void, headers?: Record<string, string>): Response {
  if (isLeanflowError(err)) {
    const status = ERROR_STATUS[err.code]
    // the server's own failures: the store's message names its address and the driver's reply,
    // which are the operator's to read (onError), not the caller's
    if (err.code === 'STORE_UNAVAILABLE') {
      report(err)
      return errorJson(err.code, STORE_UNAVAILABLE_MESSAGE, 503, { ...headers, 'retry-after': String(STORE_RETRY_AFTER_S) })
    }
    if (err.code === 'STORE_FULL') {
      report(err)
      return errorJson(err.code, STORE_FULL_MESSAGE, 507, headers)
    }
    if (err.code === 'RATE_LIMITED') {
      const retryAfterMs = (err as { retryAfterMs?: unknown }).retryAfterMs
      return errorJson(err.code, err.message, 429, { ...headers, 'retry-after': String(retryAfterSeconds(retryAfterMs)) })
    }
    // a body over the limit is left unread: close the connection after the answer, or a server
    // behind Hono or h3 waits for (and reads) the rest of it (the Node adapter closes on any unread body)
    if (err.code === 'PAYLOAD_TOO_LARGE') return errorJson(err.code, err.message, 413, { ...headers, connection: 'close' })
    // an input that failed its flow's schema carries the schema's issues (`[{ path, message }]`)
    const found = (err as { issues?: unknown }).issues
    const issues = Array.isArray(found) ? found : undefined
    if (typeof status === 'number' && status < 500) return errorJson(err.code, err.message, status, headers, issues)
  }
  report(err)
  return errorJson('INTERNAL', INTERNAL_MESSAGE, 500)
}

const INTERNAL_MESSAGE = 'Internal server error: the failure was reported to the server log.'
const STORE_UNAVAILABLE_MESSAGE = `The server's store could not be reached in time: retry after ${STORE_RETRY_AFTER_S} s (Retry-After), with the same Idempotency-Key for a start or a publish.`
const STORE_FULL_MESSAGE =
  "The server's store refuses writes (it is full): nothing was written. It needs an operator; retry later with the same Idempotency-Key."

/** A LeanflowError for a bad request argument (400 INVALID_ARGUMENT). */
export function invalidArgument(message: string): LeanflowError {
  return new LeanflowError('INVALID_ARGUMENT', message)
}

/**
 * The answer to a LeanflowError with an HTTP status (what a request that makes no Web `Request`
 * throws, such as a malformed Host header); `undefined` for anything else, which the caller
 * passes on (Express: `next(err)`).
 */
export function leanflowErrorResponse(err: unknown): Response | undefined {
  return isLeanflowError(err) && typeof ERROR_STATUS[err.code] === 'number' ? errorResponse(err, () => {}) : undefined
}
