import { type EventRecord, LeanflowError, redactUrl, toStoreError } from '@leanflow/core'
import type { Redis } from 'ioredis'

/** Methods already wrapped (the run-state methods a stream store takes over are wrapped once). */
const wrapped = new WeakSet<object>()

/**
 * The choke point that keeps raw driver errors from callers: wraps every method of `store`
 * (in place) so that whatever it throws or rejects with — a Redis reply error, an ioredis
 * connection error, a timeout, the error of a `follow` iterator's `next()` — reaches the caller
 * as a LeanflowError (`toStoreError`: `STORE_FULL`, `STORE_UNAVAILABLE` or `INTERNAL`, the
 * original as `cause`). LeanflowErrors pass as they are. Getters and non-function values are
 * left alone; a method that returns an async iterable (`follow`) gets an iterable whose
 * iterators map their errors. When `fatal` names an error (the store cannot work at all), every
 * failure is that error instead.
 */
export function withStoreErrors<T extends object>(store: T, fatal: () => LeanflowError | undefined = none, redis?: object): T {
  const map = (err: unknown, op: string) => {
    const mapped = toStoreError(err, op)
    return fatal() ?? ended(mapped, op, redis) ?? withEndpoint(mapped, redis)
  }
  for (const key of Object.keys(store)) {
    const desc = Object.getOwnPropertyDescriptor(store, key)
    if (desc === undefined || !('value' in desc) || typeof desc.value !== 'function' || wrapped.has(desc.value)) continue
    Object.defineProperty(store, key, { ...desc, value: wrapMethod(key, desc.value as (...args: unknown[]) => unknown, map) })
  }
  return store
}

const none = () => undefined

/** A driver error of operation `op` as the caller gets it. */
type MapError = (err: unknown, op: string) => LeanflowError

function wrapMethod(name: string, fn: (...args: unknown[]) => unknown, map: MapError): (...args: unknown[]) => unknown {
  const method = function (this: unknown, ...args: unknown[]): unknown {
    let out: unknown
    try {
      out = fn.apply(this, args)
    } catch (err) {
      throw map(err, operation(name, args))
    }
    if (out instanceof Promise) {
      return out.catch((err: unknown) => {
        throw map(err, operation(name, args))
      })
    }
    if (isAsyncIterable(out)) return mapIterable(out, () => operation(name, args), map)
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
function mapIterable(source: AsyncIterable<unknown>, op: () => string, map: MapError): AsyncIterable<EventRecord> {
  const fail = (err: unknown) => Promise.reject(map(err, op()))
  return {
    [Symbol.asyncIterator]() {
      let it: AsyncIterator<unknown>
      try {
        it = source[Symbol.asyncIterator]()
      } catch (err) {
        throw map(err, op())
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

/**
 * Keeps the connection errors of a connection the store opened off stderr (ioredis reconnects by
 * itself and failed commands reject), except one: the server has no database of the URL's index.
 * ioredis reports that failed SELECT as an 'error' event and then runs every command in database
 * 0; the connection is closed at once instead (before the commands queued meanwhile go out), and
 * the error answered is the store's from then on.
 */
export function refuseMissingDatabase(redis: Redis, url: string): () => LeanflowError | undefined {
  let refused: LeanflowError | undefined
  redis.on('error', (err: Error) => {
    if (refused !== undefined || !/DB index is out of range/i.test(err.message)) return
    const index = redis.options.db
    refused = new LeanflowError(
      'INVALID_ARGUMENT',
      `The Redis server at ${redacted(url)} has no database ${index} (the URL's "/${index}"): use an index below its "databases" setting (16 by default), e.g. "/0".`,
      { cause: err },
    )
    redis.disconnect()
  })
  return () => refused
}

/** The connection problem of a client the store made, by client: its URL and its last connection error. */
const endpoints = new WeakMap<object, { url: string; last?: Error }>()

/**
 * Keeps the last connection error of `redis` (a client the store made from `url`; cleared once it
 * is ready again), so that a `STORE_UNAVAILABLE` of its calls names where Redis was looked for
 * and why it was not reached (`connect ECONNREFUSED 127.0.0.1:6379`, `getaddrinfo ENOTFOUND`):
 * a call that waits out `commandTimeout` on a server that is not there otherwise only says
 * "Command timed out".
 *
 * @example
 * ```ts
 * watchEndpoint(redis, options.url)
 * return withStoreErrors(store, fatal, redis)
 * ```
 */
export function watchEndpoint(redis: Redis, url: string): void {
  const seen: { url: string; last?: Error } = { url }
  endpoints.set(redis, seen)
  redis.on('error', (err: Error) => {
    // a connection's error (a system error: ECONNREFUSED, ENOTFOUND, ETIMEDOUT…), not a command's
    if (typeof (err as NodeJS.ErrnoException).syscall === 'string') seen.last = err
  })
  redis.on('ready', () => {
    seen.last = undefined
  })
}

/**
 * A `STORE_UNAVAILABLE` of a client closed for good (ioredis status `end`: the app called `quit()` or
 * `disconnect()` on the client it gave the store, or its `retryStrategy` gave up): no retry helps,
 * so the error says so instead of "retry once it is reachable"; undefined otherwise.
 */
function ended(err: LeanflowError, op: string, redis: object | undefined): LeanflowError | undefined {
  if (err.code !== 'STORE_UNAVAILABLE' || (redis as { status?: string } | undefined)?.status !== 'end') return undefined
  return new LeanflowError(
    'STORE_UNAVAILABLE',
    `${op} failed: the ioredis client of the Redis store is closed for good (its status is "end": quit() or disconnect() was called on it, or its retryStrategy gave up reconnecting). Keep the client open while the store is used, or make the store from \`url\` and close it with store.close().`,
    { cause: err.cause },
  )
}

/** A `STORE_UNAVAILABLE` of a watched client while it cannot connect: the endpoint and its last connection error added. */
function withEndpoint(err: LeanflowError, redis: object | undefined): LeanflowError {
  const seen = redis === undefined ? undefined : endpoints.get(redis)
  if (err.code !== 'STORE_UNAVAILABLE' || seen === undefined) return err
  if (seen.last === undefined) {
    // no connection error, and a command timed out: Redis holds the connection but does not
    // answer, or the connection itself has not completed yet (packets dropped on the way)
    if (!/timed out/i.test(err.message)) return err
    const connected = (redis as { status?: string }).status === 'ready'
    const why = connected
      ? 'is connected but did not answer in time: is it overloaded, paused (CLIENT PAUSE, a stopped process) or busy with a long script?'
      : 'was not connected in time (no answer to the connection yet): is the host reachable, or does a firewall drop the packets?'
    return new LeanflowError('STORE_UNAVAILABLE', `${err.message} Redis at ${redacted(seen.url)} ${why}`, { cause: err.cause })
  }
  return new LeanflowError(
    'STORE_UNAVAILABLE',
    `${err.message} Redis at ${redacted(seen.url)} is not reached: ${seen.last.message} (its last connection error). Is Redis running there, and is the store's url right?`,
    { cause: err.cause },
  )
}

/** The URL without its password (core's `redactUrl`); one that is no URL, quoted. */
export function redacted(url: string): string {
  return URL.canParse(url) ? redactUrl(url) : JSON.stringify(redactUrl(url))
}

/** A call on a store made from `url` after its `close()`: its connections are gone for good. */
export function closedError(): LeanflowError {
  return new LeanflowError(
    'STORE_UNAVAILABLE',
    'The Redis store is closed (close() was called, which quit the connections it opened from `url`): create a new store with createRedisStreamStore, or pass a connection of yours as `redis` to keep using it.',
  )
}
