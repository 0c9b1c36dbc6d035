import { type EventRecord, toStoreError } from '@leanflow/core'

/** Methods already wrapped (the run-state methods a stream store takes over are wrapped once). */
const wrapped = new WeakSet<object>()

/**
 * The choke point that keeps raw driver errors from callers: wraps every method of `store`
 * (in place) so that whatever it throws or rejects with — a Redis reply error, an ioredis
 * connection error, a timeout, the error of a `follow` iterator's `next()` — reaches the caller
 * as a LeanflowError (`toStoreError`: `STORE_FULL`, `STORE_UNAVAILABLE` or `INTERNAL`, the
 * original as `cause`). LeanflowErrors pass as they are. Getters and non-function values are
 * left alone; a method that returns an async iterable (`follow`) gets an iterable whose
 * iterators map their errors.
 */
export function withStoreErrors<T extends object>(store: T): T {
  for (const key of Object.keys(store)) {
    const desc = Object.getOwnPropertyDescriptor(store, key)
    if (desc === undefined || !('value' in desc) || typeof desc.value !== 'function' || wrapped.has(desc.value)) continue
    Object.defineProperty(store, key, { ...desc, value: wrapMethod(key, desc.value as (...args: unknown[]) => unknown) })
  }
  return store
}

function wrapMethod(name: string, fn: (...args: unknown[]) => unknown): (...args: unknown[]) => unknown {
  const method = function (this: unknown, ...args: unknown[]): unknown {
    let out: unknown
    try {
      out = fn.apply(this, args)
    } catch (err) {
      throw toStoreError(err, operation(name, args))
    }
    if (out instanceof Promise) {
      return out.catch((err: unknown) => {
        throw toStoreError(err, operation(name, args))
      })
    }
    if (isAsyncIterable(out)) return mapIterable(out, () => operation(name, args))
    return out
  }
  wrapped.add(method)
  return method
}

/** `append("r1")`: the method and its first argument when that is a short string (a run id, a kind). */
function operation(name: string, args: unknown[]): string {
  const first = args[0]
  return typeof first === 'string' && first.length <= 128 ? `${name}(${JSON.stringify(first)})` : `${name}()`
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function'
}

/** An iterable whose iterators reject `next()`/`return()` with mapped errors (one `.catch` per call, no generator). */
function mapIterable(source: AsyncIterable<unknown>, op: () => string): AsyncIterable<EventRecord> {
  const fail = (err: unknown) => Promise.reject(toStoreError(err, op()))
  return {
    [Symbol.asyncIterator]() {
      let it: AsyncIterator<unknown>
      try {
        it = source[Symbol.asyncIterator]()
      } catch (err) {
        throw toStoreError(err, op())
      }
      const iterator: AsyncIterator<EventRecord> = {
        next: () => {
          try {
            return (it.next() as Promise<IteratorResult<EventRecord>>).catch(fail)
          } catch (err) {
            return fail(err)
          }
        },
      }
      if (it.return) {
        const ret = it.return.bind(it)
        iterator.return = (value?: unknown) => (ret(value) as Promise<IteratorResult<EventRecord>>).catch(fail)
      }
      if (it.throw) {
        const thr = it.throw.bind(it)
        iterator.throw = (err?: unknown) => (thr(err) as Promise<IteratorResult<EventRecord>>).catch(fail)
      }
      return iterator
    },
  }
}
