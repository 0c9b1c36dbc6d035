/** How an `await.event` `match` is checked against a published event: dotted JSON paths to expected values. */

/** The value at a dotted JSON path (`'data.order.id'`), own properties only. */
export function valueAt(root: unknown, path: string): unknown {
  let cur: unknown = root
  for (const part of path.split('.')) {
    if (typeof cur !== 'object' || cur === null || !Object.hasOwn(cur, part)) return undefined
    cur = (cur as Record<string, unknown>)[part]
  }
  return cur
}

/** Structural equality of JSON values. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  if (Array.isArray(a) !== Array.isArray(b)) return false
  const ka = Object.keys(a)
  const kb = Object.keys(b)
  if (ka.length !== kb.length) return false
  return ka.every((k) => Object.hasOwn(b, k) && jsonEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
}

/** True when every path of `match` holds its expected value in `event` (no `match`: always). */
export function matches(event: unknown, match: Record<string, unknown> | undefined): boolean {
  if (!match) return true
  return Object.entries(match).every(([path, expected]) => jsonEqual(valueAt(event, path), expected))
}
