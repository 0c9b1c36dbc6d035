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
  if (typeof id !== 'string') return false
  const len = id.length
  const dash = id.indexOf('-')
  if (dash < 1 || dash > 20 || len - dash - 1 < 1 || len - dash - 1 > 20) return false
  for (let i = 0; i < len; i++) {
    if (i === dash) continue
    const c = id.charCodeAt(i)
    if (c < 48 || c > 57) return false
  }
  return true
}

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
  let da = a.indexOf('-')
  let db = b.indexOf('-')
  // Same length and same dash position: digit runs of equal length order
  // lexically as they do numerically (the common case within one run).
  if (a.length === b.length && da === db) return a < b ? -1 : 1
  if (da < 0) da = a.length
  if (db < 0) db = b.length
  const c = compareDigits(a, 0, da, b, 0, db)
  return c !== 0 ? c : compareDigits(a, da + 1, a.length, b, db + 1, b.length)
}

// Compares the digit runs a[as, ae) and b[bs, be) as numbers, without
// allocating (the reducer sorts with it): skip leading zeros, then the longer
// run is larger, then the first differing digit decides.
function compareDigits(a: string, as: number, ae: number, b: string, bs: number, be: number): number {
  while (as < ae - 1 && a.charCodeAt(as) === 48) as++
  while (bs < be - 1 && b.charCodeAt(bs) === 48) bs++
  const la = ae - as
  const lb = be - bs
  if (la !== lb) return la < lb ? -1 : 1
  for (let i = 0; i < la; i++) {
    const d = a.charCodeAt(as + i) - b.charCodeAt(bs + i)
    if (d !== 0) return d < 0 ? -1 : 1
  }
  return 0
}
