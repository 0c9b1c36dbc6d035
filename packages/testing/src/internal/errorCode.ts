import { isLeanflowError } from '@leanflow/core'

/**
 * The code of the LeanflowError that `call` (a promise, or a function that returns one or
 * throws) fails with; `'resolved'` when it does not fail, and `not a LeanflowError: …` for any
 * other error, so a wrong outcome reads plainly in the failed assertion.
 */
export async function codeOf(call: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof call === 'function' ? call() : call)
  } catch (err) {
    return isLeanflowError(err) ? err.code : `not a LeanflowError: ${String(err)}`
  }
  return 'resolved'
}
