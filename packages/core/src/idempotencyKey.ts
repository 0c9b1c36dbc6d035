import { invalidArgument } from './invalidArgument.js'

/** The longest idempotency key a store takes, in characters. */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 512

/** A UTF-16 surrogate without its pair: no UTF-8 text can hold it. */
export const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

/**
 * Whether `value` is an idempotency key every store keeps apart from every other: a string of
 * 1-512 characters that is well-formed Unicode. A lone surrogate (`'\uD800'`) is refused: a store
 * that keeps keys as UTF-8 (Redis, SQL) turns each one into U+FFFD, so two keys that differ only
 * there would be one key, and the second append would be dropped as a repeat of the first.
 *
 * @example
 * ```ts
 * isIdempotencyKey('order-42')   // true
 * isIdempotencyKey('order-\uD800') // false
 * ```
 */
export function isIdempotencyKey(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_IDEMPOTENCY_KEY_LENGTH && !LONE_SURROGATE.test(value)
}

/**
 * `value` when it is an idempotency key ({@link isIdempotencyKey}), `undefined` when it is
 * `undefined`; else `INVALID_ARGUMENT` naming `what` and the value, before anything is written.
 * A custom store calls it on the keys it is given (`publishExternal`'s, say), as the built-in ones do.
 *
 * @example
 * ```ts
 * const key = idempotencyKey(opts?.idempotencyKey, 'publishExternal idempotency key') // string | undefined
 * ```
 */
export function idempotencyKey(value: unknown, what: string): string | undefined {
  if (value === undefined || isIdempotencyKey(value)) return value
  throw invalidArgument(what, value, `a string of 1-${MAX_IDEMPOTENCY_KEY_LENGTH} characters of well-formed Unicode (no lone surrogate)`)
}

/**
 * `value` when it is an idempotency key ({@link isIdempotencyKey}); else, `undefined` included,
 * `INVALID_ARGUMENT` naming `what`. For a call whose key is required, such as `createRun`'s.
 *
 * @example
 * ```ts
 * async createRun(runId, doc, first, opts) {
 *   const key = requiredIdempotencyKey(opts.idempotencyKey, 'createRun idempotency key')
 *   …
 * }
 * ```
 */
export function requiredIdempotencyKey(value: unknown, what: string): string {
  if (isIdempotencyKey(value)) return value
  throw invalidArgument(what, value, `a string of 1-${MAX_IDEMPOTENCY_KEY_LENGTH} characters of well-formed Unicode (no lone surrogate)`)
}
