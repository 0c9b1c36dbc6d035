const ID_PATTERN = /^(\d{1,20})-(\d{1,20})$/

/** True for a stream id `"<ms>-<seq>"`. */
export function isEventId(id: unknown): id is string {
  return typeof id === 'string' && ID_PATTERN.test(id)
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
  const da = a.indexOf('-')
  const db = b.indexOf('-')
  const c = compareDigits(a.slice(0, da), b.slice(0, db))
  return c !== 0 ? c : compareDigits(a.slice(da + 1), b.slice(db + 1))
}

function compareDigits(a: string, b: string): number {
  // strip leading zeros, then longer is larger, then lexical on equal length
  const x = a.replace(/^0+(?=\d)/, '')
  const y = b.replace(/^0+(?=\d)/, '')
  if (x.length !== y.length) return x.length - y.length
  return x < y ? -1 : x > y ? 1 : 0
}
