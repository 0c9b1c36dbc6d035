import { isIdempotencyKey, LeanflowError, MAX_IDEMPOTENCY_KEY_LENGTH } from '@leanflow/core'

/**
 * `key` when it is absent or a string of 1-512 characters of well-formed Unicode; else `INVALID_ARGUMENT` naming the
 * call and the value, before anything is stored (a key is kept as a lookup in the store).
 *
 * @example
 * ```ts
 * idempotencyKeyOf('order-42', 'startFlow') // 'order-42'
 * idempotencyKeyOf('', 'startFlow')         // throws INVALID_ARGUMENT
 * ```
 */
export function idempotencyKeyOf(key: unknown, call: string): string | undefined {
  if (key === undefined) return undefined
  if (isIdempotencyKey(key)) return key
  const shown =
    typeof key !== 'string'
      ? typeof key
      : key === '' || key.length > MAX_IDEMPOTENCY_KEY_LENGTH
        ? `a string of ${key.length} characters`
        : 'a string with a lone surrogate (no UTF-8 text holds it: two such keys would be one)'
  throw new LeanflowError(
    'INVALID_ARGUMENT',
    `${call} idempotencyKey must be a non-empty string of at most ${MAX_IDEMPOTENCY_KEY_LENGTH} characters of well-formed Unicode, got ${shown}: pass a short key (a UUID, say).`,
  )
}
