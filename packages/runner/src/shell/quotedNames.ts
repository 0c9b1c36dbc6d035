/**
 * Names for a message: sorted, each quoted as JSON, comma-separated; past `max` of them, `and N more`.
 *
 * @example
 * ```ts
 * quotedNames(['pay', 'charge']) // '"charge", "pay"'
 * quotedNames(['a', 'b', 'c'], 2) // '"a", "b" and 1 more'
 * ```
 */
export function quotedNames(names: Iterable<string>, max = Number.POSITIVE_INFINITY): string {
  const sorted = [...names].sort()
  const shown = sorted
    .slice(0, max)
    .map((n) => JSON.stringify(n))
    .join(', ')
  return sorted.length > max ? `${shown} and ${sorted.length - max} more` : shown
}
