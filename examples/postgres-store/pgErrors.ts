// No raw pg error reaches a caller: a rejection of any store call becomes a LeanflowError, as on
// the built-in stores (`toStoreError`): a value PostgreSQL cannot hold is the caller's
// INVALID_ARGUMENT, a lost or refused connection STORE_UNAVAILABLE, anything else INTERNAL with
// the driver's error as its cause.
import { isLeanflowError, LeanflowError, toStoreError } from '@leanflow/core'

/** SQLSTATE classes of a connection that failed (08), or of a server shutting down or in recovery (57P). */
const UNAVAILABLE_STATE = /^(08|57P)/
/** pg's own messages of a connection lost mid-call. */
const UNAVAILABLE_MESSAGE = /Connection terminated|Client has encountered a connection error|timeout exceeded when trying to connect/i

/** `err`, a rejection of the store call `call`, as the LeanflowError a caller gets. */
export function pgStoreError(err: unknown, call: string): LeanflowError {
  if (isLeanflowError(err)) return err
  const { code, message } = (err ?? {}) as { code?: unknown; message?: unknown }
  const state = typeof code === 'string' ? code : ''
  const text = typeof message === 'string' ? message : String(err)
  // data exceptions: a NUL character in text (22021), a number past a column's range (22003), …
  if (state.startsWith('22'))
    return new LeanflowError(
      'INVALID_ARGUMENT',
      `${call} refused: PostgreSQL cannot store a value it was given (${text}; SQLSTATE ${state}). Text cannot hold a NUL character (\\u0000); numbers must fit their column. Nothing was written.`,
      { cause: err },
    )
  if (UNAVAILABLE_STATE.test(state) || UNAVAILABLE_MESSAGE.test(text))
    return new LeanflowError(
      'STORE_UNAVAILABLE',
      `${call} failed: PostgreSQL could not be reached (${text}). Retry once it is reachable: a read as it was; a write may or may not have taken effect, so with the same idempotency key.`,
      { cause: err },
    )
  return toStoreError(err, call)
}

/**
 * Wraps each method of `store` (but `follow`, which reports through its iterator, and `close`) so
 * that a rejection is a {@link pgStoreError}. A method that returns no promise is left as it is.
 */
export function translatePgErrors<T extends object>(store: T): T {
  const methods = store as Record<string, unknown>
  for (const key of Object.keys(store)) {
    const fn = methods[key]
    if (typeof fn !== 'function' || key === 'follow' || key === 'close') continue
    const method = fn as (...args: unknown[]) => unknown
    methods[key] = (...args: unknown[]) => {
      const out = method.apply(store, args)
      return out instanceof Promise ? out.catch((err: unknown) => Promise.reject(pgStoreError(err, key))) : out
    }
  }
  return store
}
