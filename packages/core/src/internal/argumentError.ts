/**
 * An `INVALID_ARGUMENT` error for the browser path (the reducer): the same as a `LeanflowError` to
 * `isLeanflowError` and to the HTTP handlers (`code`, `status`, `name`), without pulling the error
 * class and its table of codes into a bundle of the reducer alone.
 */
export function argumentError(message: string): Error & { code: 'INVALID_ARGUMENT'; status: 400 } {
  const err = Object.assign(new Error(message), { name: 'LeanflowError', code: 'INVALID_ARGUMENT', status: 400 } as const)
  return Object.defineProperty(err, Symbol.for('leanflow.error'), { value: true })
}
