import { InvalidNameError } from './errors.js'

/**
 * The rule every flow name, step name, event kind and run id follows: it
 * appears verbatim in Redis keys, so no `:`, `{`, `*`, whitespace or control characters.
 */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/

/** Flow names that are HTTP routes and so cannot name a flow. */
export const RESERVED_FLOW_NAMES: readonly string[] = ['runs', 'triggers', 'events', 'schedules']

/** What a name names, for error messages. */
export type NameRole = 'flow name' | 'step name' | 'event kind' | 'run id' | 'trigger id' | 'schedule id' | 'name'

/**
 * True when `value` is a string that follows {@link NAME_PATTERN}.
 *
 * @example
 * ```ts
 * isValidName('order-1')  // true
 * isValidName('order:1')  // false: ':' is not allowed
 * ```
 */
export function isValidName(value: unknown): value is string {
  return typeof value === 'string' && NAME_PATTERN.test(value)
}

/**
 * Returns `value` when it is a valid name, else throws {@link InvalidNameError}
 * naming the value and the rule.
 *
 * @example
 * ```ts
 * assertName('order', 'flow name')        // 'order'
 * assertName('a:b', 'flow name')          // throws INVALID_NAME
 * ```
 */
export function assertName(value: unknown, role: NameRole = 'name'): string {
  if (isValidName(value)) return value
  const shown = typeof value === 'string' ? JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value) : String(value)
  throw new InvalidNameError(
    `Invalid ${role} ${shown}: use 1-128 characters from A-Z a-z 0-9 _ . - starting with a letter or digit (no ':', '{', '*', spaces or control characters).`,
  )
}

/**
 * Like {@link assertName} for a flow name, also refusing the reserved names.
 *
 * @example
 * ```ts
 * assertFlowName('order') // 'order'
 * assertFlowName('runs')  // throws InvalidNameError: a reserved name (an HTTP route)
 * ```
 */
export function assertFlowName(value: unknown): string {
  const name = assertName(value, 'flow name')
  if (RESERVED_FLOW_NAMES.includes(name)) {
    throw new InvalidNameError(`Flow name "${name}" is reserved (it is an HTTP route): choose another name.`)
  }
  return name
}
