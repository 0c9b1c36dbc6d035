// The options of `POST /:flow/runs` besides its input (the body): each one a request header,
// validated before the body is read; a bad one is 400 INVALID_ARGUMENT and nothing is started.
import { idempotencyKeyHeader } from './query.js'
import { invalidArgument } from './respond.js'

/** The priority header. Not the standard `Priority` (RFC 9218), which browsers send on their own. */
export const PRIORITY_HEADER = 'leanflow-priority'

/** What `runner.startFlow` gets from the request's headers (absent ones left out). */
export interface StartOptions {
  idempotencyKey?: string
  priority?: number
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

/** The start options of `POST /:flow/runs`: `Idempotency-Key` and `Leanflow-Priority`, checked. */
export function startOptions(req: Request): StartOptions | undefined {
  const idempotencyKey = idempotencyKeyHeader(req)
  const priority = priorityHeader(req)
  if (idempotencyKey === undefined && priority === undefined) return undefined
  return {
    ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
    ...(priority === undefined ? {} : { priority }),
  }
}
