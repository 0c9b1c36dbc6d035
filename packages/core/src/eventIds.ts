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
  // Same length and same dash position: digit runs of equal length order lexically as they do
  // numerically (the common case within one run). Else each digit run is padded to 20 digits.
  if (a.length !== b.length || a.indexOf('-') !== b.indexOf('-')) {
    a = padded(a)
    b = padded(b)
  }
  return a < b ? -1 : a > b ? 1 : 0
}

/** `id` with each run of digits padded with zeros to 20 (a stream id's longest), so ids of any leading zeros order lexically as numbers. */
function padded(id: string): string {
  return id.replace(/\d+/g, (d) => d.padStart(20, '0'))
}
