import { isEventId, type RunStatus } from '@leanflow/core'
import { invalidArgument } from './respond.js'

const RUN_STATUSES: readonly RunStatus[] = ['pending', 'running', 'awaiting', 'completed', 'failed', 'canceled']

/** An optional integer query parameter in `[min, max]`; anything else is 400 INVALID_ARGUMENT. */
export function intParam(url: URL, name: string, min: number, max: number): number | undefined {
  const raw = url.searchParams.get(name)
  if (raw === null || raw === '') return undefined
  const n = /^\d{1,16}$/.test(raw) ? Number(raw) : Number.NaN
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw invalidArgument(`Query parameter ${name}=${JSON.stringify(raw)} is invalid: use an integer from ${min} to ${max}.`)
  }
  return n
}

/** An optional event id (`<ms>-<seq>`) query parameter or header value. */
export function eventIdParam(raw: string | null, name: string): string | undefined {
  if (raw === null || raw === '') return undefined
  if (!isEventId(raw))
    throw invalidArgument(
      `${name} ${JSON.stringify(String(raw).slice(0, 64))} is not an event id: use "<ms>-<seq>", such as "1700000000000-0".`,
    )
  return raw
}

/** An optional run status query parameter. */
export function statusParam(url: URL): RunStatus | undefined {
  const raw = url.searchParams.get('status')
  if (raw === null || raw === '') return undefined
  if (!(RUN_STATUSES as readonly string[]).includes(raw)) {
    throw invalidArgument(`Query parameter status=${JSON.stringify(raw.slice(0, 64))} is invalid: use one of ${RUN_STATUSES.join(', ')}.`)
  }
  return raw as RunStatus
}

/** The `direction` query parameter. */
export function directionParam(url: URL): 'forward' | 'backward' | undefined {
  const raw = url.searchParams.get('direction')
  if (raw === null || raw === '') return undefined
  if (raw !== 'forward' && raw !== 'backward') {
    throw invalidArgument(`Query parameter direction=${JSON.stringify(raw.slice(0, 64))} is invalid: use forward or backward.`)
  }
  return raw
}

/** The optional `Idempotency-Key` header: 1-256 visible ASCII characters. */
export function idempotencyKeyHeader(req: Request): string | undefined {
  const raw = req.headers.get('idempotency-key')
  if (raw === null) return undefined
  if (!/^[\x21-\x7e]{1,256}$/.test(raw)) {
    throw invalidArgument('The Idempotency-Key header is invalid: use 1-256 visible ASCII characters (a UUID, say).')
  }
  return raw
}
