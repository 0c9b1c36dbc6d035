/**
 * The message of anything a handler threw, for `step.failed` and `flow.failed`: an `Error`'s
 * `message`, a string as it is, an object's string `message` (`throw { message: 'declined' }`),
 * a plain object's JSON (`throw { code: 42 }`: `{"code":42}`, not `[object Object]`), else its
 * `String()` form (`null`, `Symbol(x)`). Never throws itself: a value that cannot be
 * turned into a string (a null-prototype object, a throwing `toString` or getter, a revoked
 * proxy) still fails the attempt, with its JSON or its type, instead of failing the job forever.
 *
 * @example
 * ```ts
 * errorMessage(new Error('boom'))         // 'boom'
 * errorMessage({ message: 'declined' })   // 'declined'
 * errorMessage({ code: 42 })              // '{"code":42}'
 * errorMessage(Object.create(null))       // '{}'
 * ```
 */
export function errorMessage(err: unknown): string {
  if (typeof err === 'string') return err
  try {
    const message = (err as { message?: unknown } | null | undefined)?.message
    if (typeof message === 'string') return message
    if (err instanceof Error) return err.name
    const text = String(err)
    // a plain object (`throw { code: 42 }`) reads `[object Object]`: its JSON says what it held
    const json = text.startsWith('[object ') && typeof err === 'object' ? jsonOf(err) : undefined
    return json !== undefined && json !== '{}' ? json : text
  } catch {
    return jsonOf(err) ?? `a thrown ${typeof err} that cannot be shown as text`
  }
}

/** `value`'s JSON, or undefined when it has none (a cycle, a bigint, a throwing getter). */
function jsonOf(value: unknown): string | undefined {
  try {
    const json = JSON.stringify(value)
    return typeof json === 'string' ? json : undefined
  } catch {
    return undefined
  }
}
