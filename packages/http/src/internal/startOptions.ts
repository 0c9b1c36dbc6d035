// The options of `POST /:flow/runs` besides its input (the body): each one a request header,
// validated before the body is read; a bad one is 400 INVALID_ARGUMENT and nothing is started.
import { isTraceparent } from '@leanflow/core'
import { idempotencyKeyHeader } from './query.js'
import { invalidArgument } from './respond.js'

/** The priority header. Not the standard `Priority` (RFC 9218), which browsers send on their own. */
export const PRIORITY_HEADER = 'leanflow-priority'

/** What `runner.startFlow` gets from the request's headers (absent ones left out). */
export interface StartOptions {
  idempotencyKey?: string
  priority?: number
  traceparent?: string
}

/** The optional W3C `traceparent` header: the run's spans join the caller's trace (`@leanflow/otel`). */
export function traceparentHeader(req: Request): string | undefined {
  const raw = req.headers.get('traceparent')
  if (raw === null) return undefined
  const v = raw.trim()
  if (!isTraceparent(v)) {
    throw invalidArgument(
      `The traceparent header ${JSON.stringify(raw.slice(0, 64))} is invalid: use a W3C trace-context value such as 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01, or leave it out.`,
    )
  }
  return v
}

/** The optional `Leanflow-Priority` header: an integer from -100 to 100 (higher is admitted first). */
export function priorityHeader(req: Request): number | undefined {
  const raw = req.headers.get(PRIORITY_HEADER)
  if (raw === null) return undefined
  const n = /^[+-]?\d{1,3}$/.test(raw.trim()) ? Number(raw.trim()) : Number.NaN
  if (!Number.isInteger(n) || n < -100 || n > 100) {
    throw invalidArgument(
      `The Leanflow-Priority header ${JSON.stringify(raw.slice(0, 64))} is invalid: use an integer from -100 to 100 (higher is admitted first), or leave it out.`,
    )
  }
  return n === 0 ? 0 : n // not -0
}

/** The start options of `POST /:flow/runs`: `Idempotency-Key`, `Leanflow-Priority` and `traceparent`, checked. */
export function startOptions(req: Request): StartOptions | undefined {
  const idempotencyKey = idempotencyKeyHeader(req)
  const priority = priorityHeader(req)
  const traceparent = traceparentHeader(req)
  if (idempotencyKey === undefined && priority === undefined && traceparent === undefined) return undefined
  return {
    ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
    ...(priority === undefined ? {} : { priority }),
    ...(traceparent === undefined ? {} : { traceparent }),
  }
}
