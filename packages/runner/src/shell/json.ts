import { jsonDepth, LeanflowError, MAX_JSON_DEPTH } from '@leanflow/core'

/** Throws `INVALID_ARGUMENT` when a function hides anywhere in `value` (it cannot be stored). */
export function assertNoFunctions(value: unknown, what: string): void {
  // iterative, so a hostile 50,000-level nesting cannot overflow the stack
  const seen = new Set<unknown>()
  const stack: unknown[] = [value]
  while (stack.length > 0) {
    const v = stack.pop()
    if (typeof v === 'function') {
      // only an await's match takes predicates elsewhere; anything else is a value to store
      const fix = /match/.test(what)
        ? "awaits are stored as data, so use match: { 'data.field': value } instead of a predicate"
        : 'it is stored as JSON, so pass plain data (no functions)'
      throw new LeanflowError('INVALID_ARGUMENT', `${what} contains a function: ${fix}.`)
    }
    if (typeof v !== 'object' || v === null || seen.has(v)) continue
    seen.add(v)
    for (const child of Object.values(v)) stack.push(child)
  }
}

/** A JSON copy of `value` (`undefined` → `null`); throws `INVALID_ARGUMENT` for what JSON cannot hold. */
export function toJson(value: unknown, what: string): unknown {
  if (value === undefined) return null
  assertNoFunctions(value, what)
  let text: string | undefined
  try {
    text = JSON.stringify(value)
  } catch (err) {
    throw new LeanflowError('INVALID_ARGUMENT', `${what} is not JSON-serializable (${(err as Error).message}): pass plain data.`)
  }
  if (text === undefined) return null
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (err) {
    throw new LeanflowError('INVALID_ARGUMENT', `${what} could not be read back as JSON (${(err as Error).message}): pass plain data.`)
  }
  // measured on the JSON as stored (a tree: an object shared in `value`, or a toJSON, is there in full)
  assertDepth(parsed, what)
  return parsed
}

/**
 * Throws `INVALID_ARGUMENT` when `tree` (parsed JSON) nests deeper than `MAX_JSON_DEPTH`: a deeper
 * value would be stored, then overflow the stack of every worker that copies it (`structuredClone`),
 * its job failing and coming back without end.
 */
function assertDepth(tree: unknown, what: string): void {
  if (jsonDepth(tree) > MAX_JSON_DEPTH)
    throw new LeanflowError(
      'INVALID_ARGUMENT',
      `${what} nests arrays and objects more than ${MAX_JSON_DEPTH} levels deep: pass flatter data (every worker copies it, and deeper copies overflow the stack).`,
    )
}
