import type { LeanflowError } from './errors.js'

/**
 * Makes every method of `store` (in place) but `follow` and `close` reject with `closed()`
 * once `isClosed()` says the store is closed, as a Redis store made from a URL does after its
 * `close()` quit its connections: a test on the memory store sees what production would.
 * `follow` keeps ending at once, without a throw, as on every store. For store implementations:
 * the memory store and the Postgres example use it.
 *
 * @example
 * ```ts
 * let closed = false
 * const store = refuseAfterClose({ ...methods, close: async () => { closed = true } }, () => closed, () =>
 *   new LeanflowError('STORE_UNAVAILABLE', 'The store is closed: create a new one.'))
 * ```
 */
export function refuseAfterClose<T extends object>(store: T, isClosed: () => boolean, closed: () => LeanflowError): T {
  const methods = store as Record<string, unknown>
  for (const key of Object.keys(store)) {
    const fn = methods[key]
    if (typeof fn !== 'function' || key === 'follow' || key === 'close') continue
    const method = fn as (...args: unknown[]) => unknown
    methods[key] = (...args: unknown[]) => (isClosed() ? Promise.reject(closed()) : method(...args))
  }
  return store
}
