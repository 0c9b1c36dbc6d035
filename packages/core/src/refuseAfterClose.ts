import type { LeanflowError } from './errors.js'

/**
 * Makes every method of `store` (in place; its own and its class's) but `follow` and `close` reject with `closed()`
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
  for (const key of methodNames(store)) {
    const fn = methods[key]
    if (typeof fn !== 'function' || key === 'follow' || key === 'close' || key === 'constructor') continue
    const method = fn as (...args: unknown[]) => unknown
    // an own property, so a class's methods (on its prototype) are wrapped too; called on the store (`this`)
    Object.defineProperty(store, key, {
      value: (...args: unknown[]) => (isClosed() ? Promise.reject(closed()) : method.apply(store, args)),
      writable: true,
      configurable: true,
      enumerable: Object.prototype.propertyIsEnumerable.call(store, key),
    })
  }
  return store
}

/** The names of `obj`'s own properties and of its prototypes' (a class's methods), `Object.prototype`'s aside. */
function methodNames(obj: object): string[] {
  const names = new Set<string>(Object.keys(obj))
  for (let p = Object.getPrototypeOf(obj); p !== null && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    for (const name of Object.getOwnPropertyNames(p)) names.add(name)
  }
  return [...names]
}
