/**
 * `target` with its method `name` wrapped by `around` (given the method, bound to `target`, and the
 * call's arguments); every other property as it is, methods bound. For tests that place an
 * interleaving in front of a real store or queue: a late answer, a lost reply, a count of calls.
 *
 * @example
 * ```ts
 * const late = aroundMethod(store, 'casRunState', async (cas, args) => {
 *   const res = await cas(...args)
 *   await sleep(300) // the write landed; its answer comes late
 *   return res
 * })
 * ```
 */
export function aroundMethod<T extends object, K extends keyof T & string>(
  target: T,
  name: K,
  around: (method: (...args: unknown[]) => Promise<unknown>, args: unknown[]) => Promise<unknown>,
): T {
  return new Proxy(target, {
    get(t, prop, receiver) {
      const value = Reflect.get(t, prop, receiver)
      if (typeof value !== 'function') return value
      const bound = value.bind(t) as (...args: unknown[]) => Promise<unknown>
      return prop === name ? (...args: unknown[]) => around(bound, args) : bound
    },
  })
}
