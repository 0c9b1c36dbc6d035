/**
 * True for a stream id `"<ms>-<seq>"`: 1 to 20 digits, a dash, 1 to 20 digits.
 *
 * @example
 * ```ts
 * isEventId('1700000000000-0') // true
 * isEventId('1700000000000')   // false
 * ```
 */
export function isEventId(id: unknown): id is string {
  return typeof id === 'string' && ID.test(id)
}

const ID = /^\d{1,20}-\d{1,20}$/

/**
 * Orders two stream ids `"<ms>-<seq>"` numerically (not lexically):
 * negative when `a` comes first, 0 when equal, positive when `b` comes first.
 *
 * @example
 * ```ts
 * compareEventIds('9-0', '10-0')   // < 0 ('9-0' is older, though it sorts after lexically)
 * ['10-0', '9-1', '9-0'].sort(compareEventIds) // ['9-0', '9-1', '10-0']
 * ```
 */
export function compareEventIds(a: string, b: string): number {
  if (a === b) return 0
  const da = a.indexOf('-')
  const db = b.indexOf('-')
  // Same length and same dash position: digit runs of equal length order
  // lexically as they do numerically (the common case within one run).
  if (a.length === b.length && da === db) return a < b ? -1 : 1
  const ea = da < 0 ? a.length : da
  const eb = db < 0 ? b.length : db
  return compareDigits(a, 0, ea, b, 0, eb) || compareDigits(a, ea + 1, a.length, b, eb + 1, b.length)
}

// Compares the digit runs a[as, ae) and b[bs, be) as numbers: skip leading zeros, then the
// longer run is larger, then the first differing digit decides (as strings of one length do).
function compareDigits(a: string, as: number, ae: number, b: string, bs: number, be: number): number {
  while (as < ae - 1 && a[as] === '0') as++
  while (bs < be - 1 && b[bs] === '0') bs++
  const x = a.slice(as, ae)
  const y = b.slice(bs, be)
  return Math.sign(ae - as - be + bs) || (x < y ? -1 : x > y ? 1 : 0)
}
