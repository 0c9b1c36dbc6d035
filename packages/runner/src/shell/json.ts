import { jsonDepth, LeanflowError, MAX_JSON_DEPTH } from '@leanflow/core'
import { storableError } from './storable.js'

/**
 * Throws `INVALID_ARGUMENT` when a function hides anywhere in `value` (it cannot be stored), naming
 * where. Returns whether an `Error` is in it, or a `toJSON` that may return one (which {@link toJson} stores by its fields).
 */
export function assertNoFunctions(value: unknown, what: string): boolean {
  // iterative, so a hostile 50,000-level nesting cannot overflow the stack
  const seen = new Set<unknown>()
  const stack: unknown[] = [value]
  let errors = false
  while (stack.length > 0) {
    const v = stack.pop()
    if (typeof v === 'function') {
      // only an await's match takes predicates elsewhere; anything else is a value to store
      const fix = /match/.test(what)
        ? "awaits are stored as data, so use match: { 'data.field': value } instead of a predicate"
        : 'it is stored as JSON, so pass plain data (no functions)'
      throw new LeanflowError('INVALID_ARGUMENT', `${what} contains a function${at(pathTo(value, (x) => x === v))}: ${fix}.`)
    }
    if (typeof v !== 'object' || v === null || seen.has(v)) continue
    seen.add(v)
    if (v instanceof Error) {
      // stored by its fields, each as JSON holds it or as its String() (an HTTP client's error
      // carries its request, listeners and all): not walked, so not refused for a function
      errors = true
      continue
    }
    const toJSON = (v as { toJSON?: unknown }).toJSON
    if (!(v instanceof Date) && typeof toJSON === 'function') {
      // JSON stores what its toJSON returns, not its fields (an own toJSON is no function to refuse):
      // that is walked instead (a function in it is refused, not dropped), and may be an Error (a
      // wrapper's, a class's), so the replacer must see it; one that throws is JSON.stringify's to report
      errors = true
      try {
        stack.push(toJSON.call(v, ''))
      } catch {}
      continue
    }
    for (const child of Object.values(v)) stack.push(child)
  }
  return errors
}

/** A JSON copy of `value` (`undefined` → `null`); throws `INVALID_ARGUMENT` for what JSON cannot hold. An `Error` is stored as its `name`, `message`, `stack`, `cause` and own fields (JSON would store `{}`). */
export function toJson(value: unknown, what: string): unknown {
  if (value === undefined) return null
  const errors = assertNoFunctions(value, what)
  let text: string | undefined
  try {
    text = errors ? JSON.stringify(value, errorFields()) : JSON.stringify(value)
  } catch (err) {
    throw new LeanflowError(
      'INVALID_ARGUMENT',
      `${what} is not JSON-serializable (${(err as Error).message})${bigIntAt(value)}: pass plain data.`,
    )
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

/** A `JSON.stringify` replacer storing an `Error` by its fields: what a log line or a recorded failure needs. */
function errorFields(): (key: string, v: unknown) => unknown {
  const seen = new Set<Error>()
  const replacer = (_key: string, v: unknown): unknown => {
    if (!(v instanceof Error)) return v
    // a cause that leads back to it, or one error in two places: named, not followed again
    if (seen.has(v)) return { name: text(() => v.name), message: text(() => v.message) }
    seen.add(v)
    try {
      const out: Record<string, unknown> = {}
      for (const [k, x] of Object.entries(v)) out[k] = holdable(x)
      out.name = text(() => v.name)
      out.message = text(() => v.message)
      if (typeof v.stack === 'string') out.stack = storableError(v.stack)
      const cause = (v as { cause?: unknown }).cause
      if (cause !== undefined) out.cause = holdable(cause)
      if (v instanceof AggregateError) out.errors = holdable(v.errors)
      return out
    } catch {
      // a getter that throws, a Proxy that refuses: what can be read of it
      return { name: text(() => v.name), message: text(() => v.message) }
    }
  }
  return replacer
}

/** A field of an Error as text, cut to what a failure's message keeps; `''` when it cannot be read. */
function text(read: () => unknown): string {
  try {
    return storableError(String(read()))
  } catch {
    return ''
  }
}

/**
 * `x` when JSON holds it (its Errors are left to the replacer), else its `String()`: a field of
 * an Error (a request with cycles in a cause, say) never makes the whole value unstorable.
 */
function holdable(x: unknown): unknown {
  try {
    JSON.stringify(x, (_k, v) => (v instanceof Error ? null : v))
    return x
  } catch {
    return text(() => x)
  }
}

/** The path (`.a[2].b`) to the first value in `value` that `found` picks, or undefined (cycles visited once). */
function pathTo(value: unknown, found: (v: unknown) => boolean): string | undefined {
  const seen = new Set<unknown>()
  const stack: [unknown, string][] = [[value, '']]
  while (stack.length > 0) {
    const [v, path] = stack.pop() as [unknown, string]
    if (found(v)) return path
    if (typeof v !== 'object' || v === null || seen.has(v)) continue
    seen.add(v)
    const isArray = Array.isArray(v)
    const entries = Object.entries(v)
    for (let i = entries.length - 1; i >= 0; i--) {
      const [k, child] = entries[i] as [string, unknown]
      stack.push([child, isArray ? `${path}[${k}]` : /^[A-Za-z_$][\w$]*$/.test(k) ? `${path}.${k}` : `${path}[${JSON.stringify(k)}]`])
    }
  }
  return undefined
}

/** `; a BigInt at a.b[2] (pass it as a string or a number)` when `value` has one, else nothing: for a JSON.stringify failure. */
export function bigIntAt(value: unknown): string {
  const path = pathTo(value, (x) => typeof x === 'bigint')
  return path === undefined ? '' : `; a BigInt${at(path)} (pass it as a string or a number)`
}

/** ` at input.a.b` for a path, nothing for the value itself or none. */
function at(path: string | undefined): string {
  return path ? ` at ${path.startsWith('.') ? path.slice(1) : path}` : ''
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
