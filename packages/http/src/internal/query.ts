// Query parameters and request headers read as route inputs: each one validated, each bad one a
// 400 INVALID_ARGUMENT that names the value and what to send instead.
import { compareEventIds, isEventId, type RunStatus } from '@leanflow/core'
import { invalidArgument } from './respond.js'

const RUN_STATUSES: readonly RunStatus[] = ['pending', 'queued', 'running', 'awaiting', 'completed', 'failed', 'canceled']

/** The largest Redis stream id: each part of `<ms>-<seq>` is an unsigned 64-bit integer. */
export const MAX_EVENT_ID = '18446744073709551615-18446744073709551615'
const MAX_PART = '18446744073709551615'

/** How a value is shown in an error message: JSON, cut to 64 characters. */
const shown = (raw: string) => JSON.stringify(raw.slice(0, 64))

/**
 * The one value of query parameter `name`, or `undefined` when it is absent. Empty (`limit=`)
 * or repeated (`limit=1&limit=5000`) is 400 INVALID_ARGUMENT, like any invalid value: a
 * parameter that means two things is refused rather than read one way.
 */
export function queryParam(url: URL, name: string): string | undefined {
  const all = url.searchParams.getAll(name)
  if (all.length === 0) return undefined
  if (all.length > 1) {
    throw invalidArgument(
      `Query parameter ${name} is given ${all.length} times (${all.map(shown).join(', ')}): give it once, or leave it out.`,
    )
  }
  const raw = all[0] as string
  if (raw === '') throw invalidArgument(`Query parameter ${name} is empty: give it a value, or leave it out.`)
  return raw
}

/** An optional integer query parameter in `[min, max]`; anything else is 400 INVALID_ARGUMENT. */
export function intParam(url: URL, name: string, min: number, max: number): number | undefined {
  const raw = queryParam(url, name)
  if (raw === undefined) return undefined
  const n = /^\d{1,16}$/.test(raw) ? Number(raw) : Number.NaN
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw invalidArgument(`Query parameter ${name}=${shown(raw)} is invalid: use an integer from ${min} to ${max}.`)
  }
  return n
}

/** A digit run as an unsigned 64-bit integer fits (leading zeros allowed). */
function fitsU64(digits: string): boolean {
  const d = digits.replace(/^0+(?=\d)/, '')
  return d.length < MAX_PART.length || (d.length === MAX_PART.length && d <= MAX_PART)
}

/**
 * An event id (`<ms>-<seq>`) from a query parameter or a header (`what` names it in errors):
 * `undefined` when absent; 400 INVALID_ARGUMENT when malformed or past {@link MAX_EVENT_ID}.
 */
export function eventId(raw: string | undefined, what: string): string | undefined {
  if (raw === undefined) return undefined
  if (!isEventId(raw)) {
    throw invalidArgument(`${what} ${shown(raw)} is not an event id: use "<ms>-<seq>", such as "1700000000000-0".`)
  }
  const dash = raw.indexOf('-')
  if (!fitsU64(raw.slice(0, dash)) || !fitsU64(raw.slice(dash + 1))) {
    throw invalidArgument(`${what} ${shown(raw)} is past the largest event id: each part of "<ms>-<seq>" is at most ${MAX_PART}.`)
  }
  return raw
}

/** An optional event id query parameter (`after`, `before`). */
export function eventIdParam(url: URL, name: string): string | undefined {
  return eventId(queryParam(url, name), `Query parameter ${name}`)
}

/**
 * True when no event can lie strictly between `after` and `before` (both exclusive): `after`
 * is the largest id, `before` is `0-0`, or `after` is not below `before`. Such a page is empty
 * without asking the store (whose range commands cannot express it: Redis refuses `(0-0` as an
 * upper bound).
 */
export function emptyRange(after: string | undefined, before: string | undefined): boolean {
  if (after !== undefined && compareEventIds(after, MAX_EVENT_ID) >= 0) return true
  if (before !== undefined && compareEventIds(before, '0-0') <= 0) return true
  return after !== undefined && before !== undefined && compareEventIds(after, before) >= 0
}

/** An optional run status query parameter. */
export function statusParam(url: URL): RunStatus | undefined {
  const raw = queryParam(url, 'status')
  if (raw === undefined) return undefined
  if (!(RUN_STATUSES as readonly string[]).includes(raw)) {
    throw invalidArgument(`Query parameter status=${shown(raw)} is invalid: use one of ${RUN_STATUSES.join(', ')}.`)
  }
  return raw as RunStatus
}

/** The `direction` query parameter. */
export function directionParam(url: URL): 'forward' | 'backward' | undefined {
  const raw = queryParam(url, 'direction')
  if (raw === undefined) return undefined
  if (raw !== 'forward' && raw !== 'backward') {
    throw invalidArgument(`Query parameter direction=${shown(raw)} is invalid: use forward or backward.`)
  }
  return raw
}

/** What is wrong with an `Idempotency-Key` that is not 1-256 visible ASCII characters. */
function keyFault(raw: string): string {
  if (raw === '') return 'it is empty'
  if (raw.length > 256) return `it has ${raw.length} characters`
  const at = [...raw].findIndex((ch) => !/^[\x21-\x7e]$/.test(ch))
  const ch = [...raw][at] ?? ''
  const what = ch === ' ' ? 'a space' : `U+${(ch.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`
  // two headers arrive joined by ", "
  const twice = raw.includes(', ') ? ' (two Idempotency-Key headers arrive joined by ", ": send one)' : ''
  return `it has ${what} at character ${at + 1}${twice}`
}

/** The optional `Idempotency-Key` header: 1-256 visible ASCII characters. */
export function idempotencyKeyHeader(req: Request): string | undefined {
  const raw = req.headers.get('idempotency-key')
  if (raw === null) return undefined
  if (!/^[\x21-\x7e]{1,256}$/.test(raw)) {
    throw invalidArgument(
      `The Idempotency-Key header ${shown(raw)} is invalid: ${keyFault(raw)}; use 1-256 visible ASCII characters (a UUID, say).`,
    )
  }
  return raw
}
