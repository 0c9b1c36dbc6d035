import { LeanflowError } from './errors.js'
import { assertKnownKeys } from './knownKeys.js'

/**
 * The `INVALID_ARGUMENT` error of a bad option or argument, in the one message shape leanflow
 * uses: what was wrong, with the value, and what to pass instead. Throw it; for a custom store
 * or queue that refuses its options the way the built-in ones do.
 *
 * @example
 * ```ts
 * if (direction !== 'forward' && direction !== 'backward') throw invalidArgument('read direction', direction, "'forward' or 'backward'")
 * // LeanflowError INVALID_ARGUMENT: Invalid read direction "up": pass 'forward' or 'backward'.
 * ```
 */
export function invalidArgument(what: string, value: unknown, expected: string): LeanflowError {
  return new LeanflowError('INVALID_ARGUMENT', `Invalid ${what} ${shown(value)}: pass ${expected}.`)
}

/**
 * Returns `value` when it is a whole number above 0 (a count, a limit, a size in bytes or ms) and
 * at most `Number.MAX_SAFE_INTEGER` (a larger one, `1e20`, is no exact integer, and a store's
 * commands refuse it), else throws {@link invalidArgument} naming `what`.
 *
 * @example
 * ```ts
 * const limit = positiveInteger(opts.limit ?? 50, 'listRuns limit')   // 50
 * positiveInteger(0, 'maxEventBytes')                                   // throws INVALID_ARGUMENT
 * ```
 */
export function positiveInteger(value: unknown, what: string): number {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) return value
  throw invalidArgument(
    what,
    value,
    typeof value === 'number' && Number.isInteger(value) && value > 0
      ? `a whole number above 0, at most ${Number.MAX_SAFE_INTEGER}`
      : 'a whole number above 0',
  )
}

/**
 * Returns `opts` when it is an options object, `{}` when it is `undefined`; anything else (`null`,
 * a string, an array) throws `INVALID_ARGUMENT` naming the call and the shape it takes, instead of
 * a raw TypeError from reading a field of it (or options silently ignored). Given `known`, a key
 * that is not one of them (a misspelt `idempotencyKe`, which would drop what it asked for without
 * a word) throws `INVALID_ARGUMENT` naming it ({@link assertKnownKeys}). For a custom store or
 * queue that refuses its options the way the built-in ones do.
 *
 * @example
 * ```ts
 * const o = optionsObject(opts, 'read options', '{ after?, limit?, direction? }', ['after', 'before', 'limit', 'direction'])
 * optionsObject(null, 'read options', '{ limit? }')
 * // LeanflowError INVALID_ARGUMENT: read options must be an object { limit? }, got null: pass an object, or leave it out.
 * optionsObject({ from: '1-0' }, 'read options', '{ after? }', ['after'])
 * // LeanflowError INVALID_ARGUMENT: read options has an unknown option "from": pass only after.
 * ```
 */
export function optionsObject<T extends object>(opts: T | undefined, what: string, shape: string, known?: readonly string[]): T {
  if (opts === undefined) return {} as T
  if (typeof opts !== 'object' || opts === null || Array.isArray(opts)) {
    const got = opts === null ? 'null' : Array.isArray(opts) ? 'an array' : typeof opts
    throw new LeanflowError('INVALID_ARGUMENT', `${what} must be an object ${shape}, got ${got}: pass an object, or leave it out.`)
  }
  if (known !== undefined) assertKnownKeys(opts, known, what)
  return opts
}

/**
 * The value as it reads in an error message: JSON (NaN, Infinity and a bigint as themselves),
 * cut after 64 characters; never throws (a cycle reads `an object`).
 *
 * @example
 * ```ts
 * shown(2n) // '2n'
 * shown(Number.NaN) // 'NaN'
 * shown({ limit: 5 }) // '{"limit":5}'
 * ```
 */
export function shown(value: unknown): string {
  let text: string
  try {
    // NaN and ±Infinity as themselves (JSON would show them as null)
    if (typeof value === 'number' && !Number.isFinite(value)) text = String(value)
    else text = typeof value === 'bigint' ? `${value}n` : (JSON.stringify(value) ?? String(value))
  } catch {
    // a cycle, or a null-prototype object (no String() form either)
    text = typeof value === 'object' && value !== null ? 'an object' : typeof value
  }
  return text.length > 64 ? `${text.slice(0, 64)}…` : text
}
