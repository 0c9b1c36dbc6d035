import { isLeanflowError, LeanflowError } from './errors.js'

/** Reply-error codes of a server that refuses writes: at `maxmemory` (`OOM`), or unable to persist (`MISCONF`). */
const FULL_REPLY = /^-?(OOM|MISCONF)\b/
/** Reply-error codes of a server that is there but cannot serve now (loading, failing over, busy, a replica). */
const UNAVAILABLE_REPLY = /^-?(LOADING|READONLY|CLUSTERDOWN|TRYAGAIN|MASTERDOWN|BUSY|NOREPLICAS)\b/
/** Driver messages (ioredis 5 and 6, node-redis) of a command that never got its answer. */
const UNAVAILABLE_MESSAGE =
  /connection is closed|command timed out|stream isn't writeable|max retries per request|none of startup nodes is available|failed to refresh slots cache|too many cluster redirections|cluster isn't ready|socket closed unexpectedly|the client is closed|store is closed|socket timeout|connection handoff/i
/** Error names of a driver that gave up reaching the server. */
const UNAVAILABLE_NAME =
  /^(MaxRetriesPerRequestError|ClusterAllFailedError|CommandTimeoutDuringMaintenanceError|SocketTimeoutDuringMaintenanceError|ConnectionTimeoutError|SocketClosedUnexpectedlyError|ClientClosedError)$/
/** Socket errors (`err.code`, also found in messages like "connect ECONNREFUSED 127.0.0.1:6379"). */
const NETWORK_CODE =
  /\b(ECONNREFUSED|ECONNRESET|ECONNABORTED|ETIMEDOUT|EPIPE|ENOTFOUND|EHOSTUNREACH|EHOSTDOWN|ENETUNREACH|ENETDOWN|EAI_AGAIN)\b/

/** Replies of a server that is there but that this connection is set up wrong for: what to fix, for an INTERNAL error's message. */
const MISCONFIGURED: ReadonlyArray<readonly [RegExp, (what: string) => string]> = [
  [
    /^-?(WRONGPASS|NOAUTH|NOPERM)\b/,
    (what) =>
      `Redis refused the connection's credentials or rights (${what}). Check the user and password in the Redis URL (redis://user:password@host:port) and the user's ACL.`,
  ],
  [
    /^-?(MOVED|ASK) \d+ /,
    (what) =>
      `the server is a Redis Cluster node (${what}), and a plain connection does not follow the cluster's redirections. Pass a Cluster client: createRedisStreamStore({ redis: new Cluster([{ host, port }]) }), createBullMQQueue({ connection: new Cluster([{ host, port }]) }).`,
  ],
  [
    /^-?CROSSSLOT\b/,
    (what) =>
      `the server is a Redis Cluster node, and one command's keys are in different slots (${what}). Pass a Cluster client, createBullMQQueue({ connection: new Cluster([{ host, port }]) }) and createRedisStreamStore({ redis: new Cluster(…) }), and give a BullMQ queue a prefix with a hash tag, such as "{lfq}".`,
  ],
]

/** What a store error means for the caller. */
type Kind = 'STORE_FULL' | 'STORE_UNAVAILABLE' | 'INTERNAL'

function classify(err: unknown): Kind {
  // an ioredis ClusterAllFailedError carries the node's error; a wrapped error its cause
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 4; depth++) {
    if (typeof e !== 'object') break
    const { name, message, code } = e as { name?: unknown; message?: unknown; code?: unknown }
    const msg = typeof message === 'string' ? message : ''
    if (FULL_REPLY.test(msg)) return 'STORE_FULL'
    if (UNAVAILABLE_REPLY.test(msg) || UNAVAILABLE_MESSAGE.test(msg)) return 'STORE_UNAVAILABLE'
    if (typeof name === 'string' && UNAVAILABLE_NAME.test(name)) return 'STORE_UNAVAILABLE'
    if ((typeof code === 'string' && NETWORK_CODE.test(code)) || NETWORK_CODE.test(msg)) return 'STORE_UNAVAILABLE'
    const next = e as { lastNodeError?: unknown; cause?: unknown }
    e = next.lastNodeError ?? next.cause
  }
  return 'INTERNAL'
}

function describe(err: unknown): string {
  const msg = err instanceof Error ? `${err.name}: ${err.message}` : String(err)
  return msg.length > 300 ? `${msg.slice(0, 300)}…` : msg
}

/**
 * Turns an error of a store's driver into a {@link LeanflowError} that keeps
 * the driver's error as `cause` (a {@link LeanflowError} is returned as is), so
 * a raw driver error never reaches a caller. Store implementations call it on
 * every failure of a store method; callers branch on the code:
 *
 * - `STORE_FULL` (507): the store refuses writes — Redis at `maxmemory`
 *   (`OOM`), or unable to persist (`MISCONF`). Free memory or raise
 *   `maxmemory`, then retry.
 * - `STORE_UNAVAILABLE` (503): the store could not be reached in time —
 *   connection refused, reset or closed, a command timeout, ioredis'
 *   `MaxRetriesPerRequestError`, a server `LOADING`, `READONLY`, `CLUSTERDOWN`,
 *   `TRYAGAIN`, `MASTERDOWN` or `BUSY`. The call may or may not have taken
 *   effect: retry it with the same idempotency key.
 * - `INTERNAL` (500): anything else (a bug, a script error, a corrupt value).
 *
 * @param err What the driver threw.
 * @param operation The store call that failed, named in the message
 *   (`'append("r1")'`); `'store call'` when omitted.
 *
 * @example
 * ```ts
 * import { toStoreError } from '@leanflow/core'
 * try {
 *   await redis.xadd(key, '*', 'e', body)
 * } catch (err) {
 *   throw toStoreError(err, `append("${runId}")`) // OOM → STORE_FULL, ECONNREFUSED → STORE_UNAVAILABLE
 * }
 * ```
 */
export function toStoreError(err: unknown, operation = 'store call'): LeanflowError {
  if (isLeanflowError(err)) return err
  const kind = classify(err)
  const what = describe(err)
  if (kind === 'STORE_FULL') {
    return new LeanflowError(
      'STORE_FULL',
      `${operation} refused: the store refuses writes (${what}). Free memory or raise Redis maxmemory (keep maxmemory-policy noeviction), or fix its persistence for MISCONF; then retry with the same idempotency key.`,
      { cause: err },
    )
  }
  if (kind === 'STORE_UNAVAILABLE') {
    return new LeanflowError(
      'STORE_UNAVAILABLE',
      `${operation} failed: the store could not be reached in time (${what}). Retry once it is reachable: a read as it was; a write may or may not have taken effect, so with the same idempotency key.`,
      { cause: err },
    )
  }
  const message = err instanceof Error ? err.message : ''
  const hint = MISCONFIGURED.find(([reply]) => reply.test(message))?.[1]
  if (hint !== undefined) return new LeanflowError('INTERNAL', `${operation} failed: ${hint(what)}`, { cause: err })
  return new LeanflowError('INTERNAL', `${operation} failed with an unexpected store error (${what}); the original is err.cause.`, {
    cause: err,
  })
}
