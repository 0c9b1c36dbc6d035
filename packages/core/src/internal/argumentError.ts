/**
 * An `INVALID_ARGUMENT` error for the browser path (the reducer): the same as a `LeanflowError` to
 * `isLeanflowError` and to the HTTP handlers (`code`, `status`, `name`), without pulling the error
 * class and its table of codes into a bundle of the reducer alone.
 */
export function argumentError(message: string): Error & { code: 'INVALID_ARGUMENT'; status: 400 } {
  // the brand is an enumerable own symbol here (LeanflowError's is not): isLeanflowError reads both
  return Object.assign(new Error(message), {
    name: 'LeanflowError',
    code: 'INVALID_ARGUMENT',
    status: 400,
    [Symbol.for('leanflow.error')]: true,
  } as const)
}
