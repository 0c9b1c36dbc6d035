import { compareEventIds, type EventRecord, eventIdOption, historyGone, MAX_EVENT_ID } from '@leanflow/core'
import type { RedisClient } from './script.js'

/**
 * `value` when it is a stream id Redis accepts (`<ms>-<seq>`, each part at most 2^64 - 1);
 * otherwise `INVALID_ARGUMENT` naming the value, worded as every store words it (core's
 * `eventIdOption`), so no malformed id reaches Redis as a raw `ReplyError`.
 *
 * @example
 * ```ts
 * streamId('read', 'after', '0-0') // '0-0'
 * streamId('read', 'after', '99999999999999999999-0') // throws INVALID_ARGUMENT
 * ```
 */
export function streamId(where: string, name: string, value: unknown): string {
  // `undefined` is no id here (a caller with an optional id checks for it first)
  return eventIdOption(where, name, value ?? null) as string
}

/** True for the first id (`0-0`, leading zeros allowed): nothing comes before it. */
export function isMinId(id: string): boolean {
  return compareEventIds(id, '0-0') === 0
}

/** True for the largest id: nothing comes after it. */
export function isMaxId(id: string): boolean {
  return compareEventIds(id, MAX_EVENT_ID) === 0
}

/**
 * A follow from `after` that first makes sure `after` is not past the run's last event: such a
 * position is none this run gave (an id of another run, or of writes the store lost), so the
 * first `next()` rejects with `HISTORY_GONE`, as for a run retention removed (the SSE handler
 * sends `reset`). The follower starts at once and the check (one XREVRANGE) runs beside it;
 * once it passes, `next()` is the follower's own (no promise added per event).
 */
export function checkedFollow(
  redis: RedisClient,
  events: string,
  runId: string,
  after: string,
  start: () => AsyncIterator<EventRecord>,
): AsyncIterator<EventRecord> {
  const gone = () => historyGone(runId, after, true)
  // nothing can follow the largest id: no follower, no read (Redis refuses the range "(max")
  const inner = isMaxId(after) ? undefined : start()
  const check = inner === undefined ? undefined : (redis.xrevrange(events, '+', '-', 'COUNT', 1) as Promise<Array<[string, string[]]>>)
  check?.catch(() => {}) // awaited by the first next(); no unhandled rejection if the caller never calls it
  let state: 'checking' | 'ok' | 'done' = 'checking'
  const first = async (): Promise<IteratorResult<EventRecord>> => {
    // a failed check (a connection error) leaves the follower to it: its reads retry, and fail typed
    const last = check === undefined ? undefined : ((await check.catch(() => []))[0]?.[0] ?? null)
    if (state === 'done') return { done: true, value: undefined }
    if (inner === undefined || (last != null && compareEventIds(after, last) > 0)) {
      state = 'done'
      await inner?.return?.()
      throw gone()
    }
    state = 'ok'
    return inner.next()
  }
  return {
    next: () => (state === 'ok' ? inner!.next() : state === 'done' ? Promise.resolve({ done: true, value: undefined }) : first()),
    async return() {
      const was = state
      state = 'done'
      if (was !== 'done') await inner?.return?.()
      return { done: true, value: undefined }
    },
  }
}
