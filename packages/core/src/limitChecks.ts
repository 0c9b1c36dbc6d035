import { InvalidNameError, LeanflowError } from './errors.js'
import { invalidArgument, positiveInteger } from './invalidArgument.js'
import type { LimitRequest } from './limitStore.js'
import { isValidName } from './names.js'

/** Highest `priority` of a {@link LimitRequest}; the lowest is its negative. */
export const MAX_LIMIT_PRIORITY = 100

const NAME_RULE = "1-128 characters from A-Z a-z 0-9 _ . - starting with a letter or digit (no ':', '{', '*', spaces or control characters)"

function shown(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value) : String(value)
}

/** True when `value` is `<name>` or `<name><sep><name>`. */
function isPair(value: unknown, sep: string): value is string {
  if (typeof value !== 'string') return false
  const at = value.indexOf(sep)
  return at < 0 ? isValidName(value) : isValidName(value.slice(0, at)) && isValidName(value.slice(at + 1))
}

/**
 * Returns the scope of a limit call — a flow (`order`) or one of its steps (`order/charge`) —
 * else throws `INVALID_NAME`.
 *
 * @example
 * ```ts
 * checkLimitScope('order/charge') // 'order/charge'
 * checkLimitScope('a:b')          // throws INVALID_NAME
 * ```
 */
export function checkLimitScope(scope: unknown): string {
  if (isPair(scope, '/')) return scope
  throw new InvalidNameError(`Invalid limit scope ${shown(scope)}: pass a flow name or <flow>/<step>, each ${NAME_RULE}.`)
}

/**
 * Checks the scope and the holder of a limit call (a run id, or `<runId>~<step>`), else throws
 * `INVALID_NAME`. For `releaseLimit`, `renewLimit` and `settleDebounce`.
 *
 * @example
 * ```ts
 * checkLimitHolder('order/charge', 'r1~charge') // passes
 * checkLimitHolder('order', 'r 1')              // throws INVALID_NAME
 * ```
 */
export function checkLimitHolder(scope: unknown, holder: unknown): void {
  checkLimitScope(scope)
  if (!isPair(holder, '~')) {
    throw new InvalidNameError(`Invalid limit holder ${shown(holder)}: pass a run id or <runId>~<step>, each ${NAME_RULE}.`)
  }
}

/** A limit key: a name, or `''` (the limit has no key). */
function checkKey(key: unknown, what: string): string {
  if (key === '' || isValidName(key)) return key
  throw new InvalidNameError(`Invalid ${what} ${shown(key)}: a key function must return ${NAME_RULE}, or '' for no key.`)
}

/**
 * Checks every field of an `acquireLimit` call, else throws `INVALID_NAME` (scope, holder, a
 * need's id or key, the singleton key) or `INVALID_ARGUMENT` (the rest), so a store refuses a bad
 * request before it writes anything. Both built-in stores call it first.
 *
 * @example
 * ```ts
 * checkLimitRequest('sync', { holder: 'r1', needs: [{ id: 'concurrency.0', kind: 'concurrency', key: 't1', limit: 2 }] })
 * checkLimitRequest('sync', { holder: 'r1', needs: [], priority: 101 }) // throws INVALID_ARGUMENT
 * ```
 */
export function checkLimitRequest(scope: unknown, req: LimitRequest): void {
  if (typeof req !== 'object' || req === null) throw invalidArgument('limit request', req, '{ holder, needs }')
  checkLimitHolder(scope, req.holder)
  const { needs, priority, onBusy, leaseMs, singleton } = req
  if (!Array.isArray(needs)) throw invalidArgument(`needs of limit holder "${req.holder}"`, needs, 'an array of limits')
  if (needs.length === 0 && singleton === undefined) {
    throw invalidArgument(`needs of limit holder "${req.holder}"`, needs, 'at least one limit (or a singleton)')
  }
  const ids = new Set<string>()
  for (const need of needs as readonly unknown[]) {
    if (typeof need !== 'object' || need === null) throw invalidArgument('limit need', need, '{ id, kind, key, limit }')
    const n = need as Record<string, unknown>
    if (!isValidName(n.id)) throw new InvalidNameError(`Invalid limit id ${shown(n.id)}: use ${NAME_RULE}, e.g. 'concurrency.0'.`)
    if (ids.has(n.id)) throw invalidArgument('needs: limit id', n.id, 'each limit once')
    ids.add(n.id)
    if (n.kind !== 'concurrency' && n.kind !== 'rate') throw invalidArgument(`kind of limit "${n.id}"`, n.kind, "'concurrency' or 'rate'")
    checkKey(n.key, `key of limit "${n.id}"`)
    positiveInteger(n.limit, `limit of "${n.id}"`)
    if (n.kind === 'rate') positiveInteger(n.periodMs, `periodMs of rate limit "${n.id}"`)
  }
  if (priority !== undefined && (typeof priority !== 'number' || !Number.isInteger(priority) || Math.abs(priority) > MAX_LIMIT_PRIORITY)) {
    throw invalidArgument(
      'priority',
      priority,
      `a whole number from -${MAX_LIMIT_PRIORITY} to ${MAX_LIMIT_PRIORITY} (higher is admitted first)`,
    )
  }
  if (onBusy !== undefined && onBusy !== 'queue' && onBusy !== 'refuse' && onBusy !== 'refuseRate')
    throw invalidArgument('onBusy', onBusy, "'queue', 'refuse' or 'refuseRate'")
  if (leaseMs !== undefined) positiveInteger(leaseMs, 'leaseMs')
  if (singleton !== undefined) {
    if (typeof singleton !== 'object' || singleton === null) throw invalidArgument('singleton', singleton, '{ key, mode }')
    checkKey(singleton.key, 'singleton key')
    if (singleton.mode !== 'skip' && singleton.mode !== 'cancel')
      throw invalidArgument('singleton mode', singleton.mode, "'skip' or 'cancel'")
  }
}

/**
 * Checks a `debounce` call (scope, key, holder, `periodMs`, `maxWaitMs`) and returns the JSON the
 * store keeps of its input (`null` for `undefined`), else throws `INVALID_NAME` or
 * `INVALID_ARGUMENT` before anything is written. Without `opts`, checks a `settleDebounce` call.
 *
 * @example
 * ```ts
 * checkDebounce('sync', 'user-1', 'r1', { periodMs: 5000, input: { n: 1 } }) // '{"n":1}'
 * ```
 */
export function checkDebounce(
  scope: unknown,
  key: unknown,
  holder: unknown,
  opts?: { periodMs: number; maxWaitMs?: number; input: unknown },
): string {
  checkLimitHolder(scope, holder)
  checkKey(key, 'debounce key')
  if (opts === undefined) return ''
  if (typeof opts !== 'object' || opts === null) throw invalidArgument('debounce options', opts, '{ periodMs, maxWaitMs?, input }')
  positiveInteger(opts.periodMs, 'debounce periodMs')
  if (opts.maxWaitMs !== undefined) positiveInteger(opts.maxWaitMs, 'debounce maxWaitMs')
  let json: string | undefined
  try {
    json = JSON.stringify(opts.input ?? null)
  } catch (cause) {
    throw new LeanflowError(
      'INVALID_ARGUMENT',
      `The input of debounced run "${holder}" cannot be stored as JSON (${String(cause)}): pass plain JSON.`,
      {
        cause,
      },
    )
  }
  if (json === undefined) throw invalidArgument(`input of debounced run "${holder}"`, String(opts.input), 'a JSON value')
  return json
}
