// Every call on a closed store is STORE_UNAVAILABLE, as on the built-in stores: after close()
// the pool is ended, and pg's own "Cannot use a pool after calling end on the pool" is no
// LeanflowError (the runner and the HTTP layer could not tell it from a bug).
import { LeanflowError } from '@leanflow/core'

/**
 * Makes every method of `store` (in place) but `follow` and `close` reject with
 * `STORE_UNAVAILABLE` once `isClosed()` says the store is closed; `follow` keeps ending at
 * once, without a throw, as on every store.
 *
 * @example
 * ```ts
 * let closed = false
 * const store = refuseAfterClose({ read: async () => [], close: async () => { closed = true } }, () => closed)
 * await store.close()
 * await store.read() // rejects: STORE_UNAVAILABLE
 * ```
 */
export function refuseAfterClose<T extends object>(store: T, isClosed: () => boolean): T {
  const methods = store as Record<string, unknown>
  for (const key of Object.keys(store)) {
    const fn = methods[key]
    if (typeof fn !== 'function' || key === 'follow' || key === 'close') continue
    const method = fn as (...args: unknown[]) => unknown
    methods[key] = (...args: unknown[]) => (isClosed() ? Promise.reject(closedError()) : method(...args))
  }
  return store
}

/** A call on a Postgres store after its `close()`: its pool is ended for good. */
function closedError(): LeanflowError {
  return new LeanflowError(
    'STORE_UNAVAILABLE',
    'The Postgres store is closed (close() was called, which ended its pool): create a new store with createPostgresStreamStore(), and close it only once you are done with it.',
  )
}
