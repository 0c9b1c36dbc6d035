/**
 * The deepest nesting of arrays and objects a stored value may have (a run's input, an event's
 * data, a step's result), on every path (the runner, HTTP bodies, the CLI): a deeper value would be
 * stored, then overflow the stack of every worker that copies it (`structuredClone`,
 * `JSON.stringify`).
 *
 * @example
 * ```ts
 * import { jsonDepth, MAX_JSON_DEPTH } from '@leanflow/core'
 * if (jsonDepth(JSON.parse(body)) > MAX_JSON_DEPTH) throw new Error('send flatter JSON')
 * ```
 */
export const MAX_JSON_DEPTH = 512

/**
 * How deeply `tree` (parsed JSON: no cycles) nests arrays and objects: 0 for a scalar, 1 for `{}`
 * or `[1]`, 2 for `{ a: [] }`. Walked without recursion, so a hostile 100,000-level document
 * cannot overflow the stack; it stops counting past `stopAt` (default: {@link MAX_JSON_DEPTH} + 1).
 *
 * @example
 * ```ts
 * jsonDepth({ a: [1, { b: 2 }] }) // 3
 * ```
 */
export function jsonDepth(tree: unknown, stopAt = MAX_JSON_DEPTH + 1): number {
  if (typeof tree !== 'object' || tree === null) return 0
  let deepest = 0
  const stack: unknown[] = [tree]
  const depths: number[] = [1]
  while (stack.length > 0) {
    const v = stack.pop() as object
    const depth = depths.pop() as number
    if (depth > deepest) deepest = depth
    if (deepest >= stopAt) return deepest
    // one push per item: spreading an array of 150,000 items overflows the call's arguments
    for (const child of Array.isArray(v) ? v : Object.values(v))
      if (typeof child === 'object' && child !== null) {
        stack.push(child)
        depths.push(depth + 1)
      }
  }
  return deepest
}

/**
 * Whether parsed JSON holds a number that `JSON.parse` read as ±Infinity (`1e400`): stored, it
 * would become `null`. Walked without recursion.
 *
 * @example
 * ```ts
 * hasNonFiniteNumber(JSON.parse('{"amount":1e400}')) // true
 * ```
 */
export function hasNonFiniteNumber(value: unknown): boolean {
  const stack = [value]
  while (stack.length > 0) {
    const v = stack.pop()
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) return true
    } else if (typeof v === 'object' && v !== null) {
      for (const item of Array.isArray(v) ? v : Object.values(v)) stack.push(item)
    }
  }
  return false
}

/**
 * How deeply a JSON text nests arrays and objects (brackets inside strings do not count), counted
 * without parsing it or recursing: for a text already made, cheaper than parsing it to measure.
 * A text shorter than `2 × (MAX_JSON_DEPTH + 1)` characters cannot pass the limit.
 *
 * @example
 * ```ts
 * jsonTextDepth('{"a":["]]]",{}]}') // 3
 * ```
 */
export function jsonTextDepth(text: string): number {
  let depth = 0
  let deepest = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 92)
        i++ // a backslash: skip the escaped character
      else if (c === 34) inString = false
    } else if (c === 34) inString = true
    else if (c === 91 || c === 123) {
      if (++depth > deepest) deepest = depth
    } else if (c === 93 || c === 125) depth--
  }
  return deepest
}
