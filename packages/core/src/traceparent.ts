/**
 * The W3C trace-context rule of a `traceparent` value (https://www.w3.org/TR/trace-context/):
 * `<version>-<32 hex trace id>-<16 hex span id>-<2 hex flags>`, lower-case hex, version not `ff`,
 * ids not all zeros; version `00` has exactly these four fields, a later version may carry more
 * after a `-` (a parser reads the first four).
 */
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/
const ZEROS = /^0+$/

/**
 * True when `value` is a valid W3C `traceparent` (the one rule of `startFlow`'s and `rerun`'s
 * `traceparent` option and of the HTTP `traceparent` header).
 *
 * @example
 * ```ts
 * isTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01') // true
 * isTraceparent('cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-more') // true: a later version
 * isTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-more') // false
 * ```
 */
export function isTraceparent(value: unknown): value is string {
  const m = typeof value === 'string' ? TRACEPARENT.exec(value) : null
  if (!m || m[1] === 'ff' || (m[1] === '00' && m[5] !== undefined)) return false
  return !ZEROS.test(m[2] as string) && !ZEROS.test(m[3] as string)
}
