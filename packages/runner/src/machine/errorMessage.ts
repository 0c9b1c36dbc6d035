/**
 * The message of anything a handler threw, for `step.failed` and `flow.failed`: an `Error`'s
 * `message`, a string as it is, an object's string `message` (`throw { message: 'declined' }`),
 * else its `String()` form (`null`, `Symbol(x)`). Never throws itself: a value that cannot be
 * turned into a string (a null-prototype object, a throwing `toString` or getter, a revoked
 * proxy) still fails the attempt, with its JSON or its type, instead of failing the job forever.
 *
 * @example
 * ```ts
 * errorMessage(new Error('boom'))         // 'boom'
 * errorMessage({ message: 'declined' })   // 'declined'
 * errorMessage(Object.create(null))       // '{}'
 * ```
 */
export function errorMessage(err: unknown): string {
  if (typeof err === 'string') return err
  try {
    const message = (err as { message?: unknown } | null | undefined)?.message
    if (typeof message === 'string') return message
    if (err instanceof Error) return err.name
    return String(err)
  } catch {
    try {
      const json = JSON.stringify(err)
      if (typeof json === 'string') return json
    } catch {
      // neither: its type below
    }
    return `a thrown ${typeof err} that cannot be shown as text`
  }
}
