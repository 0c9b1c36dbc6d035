import { compareEventIds, type EventRecord, isEventId, LeanflowError } from '@leanflow/core'
import type { RedisClient } from './script.js'

/** The largest Redis stream id: both parts 2^64 - 1. */
export const MAX_STREAM_ID = '18446744073709551615-18446744073709551615'
const MAX_PART = '18446744073709551615'

/**
 * `value` when it is a stream id Redis accepts (`<ms>-<seq>`, each part at most 2^64 - 1);
 * otherwise `INVALID_ARGUMENT` naming the value (so no malformed id reaches Redis as a raw
 * `ReplyError`).
 *
 * @example
 * ```ts
 * streamId('read', 'after', '0-0') // '0-0'
 * streamId('read', 'after', '99999999999999999999-0') // throws INVALID_ARGUMENT
 * ```
 */
export function streamId(where: string, name: string, value: unknown): string {
  if (!isEventId(value)) {
    throw new LeanflowError(
      'INVALID_ARGUMENT',
      `${where} "${name}" must be an event id "<ms>-<seq>", got ${JSON.stringify(value) ?? String(value)}.`,
    )
  }
  const dash = value.indexOf('-')
  if (
    compareEventIds(`${value.slice(0, dash)}-0`, `${MAX_PART}-0`) > 0 ||
    compareEventIds(`0-${value.slice(dash + 1)}`, `0-${MAX_PART}`) > 0
  ) {
    throw new LeanflowError(
      'INVALID_ARGUMENT',
      `${where} "${name}" ${JSON.stringify(value)} is not a stream id: each part must be at most ${MAX_PART} (the largest id is "${MAX_STREAM_ID}").`,
    )
  }
  return value
}

/** True for the first id (`0-0`, leading zeros allowed): nothing comes before it. */
export function isMinId(id: string): boolean {
  return compareEventIds(id, '0-0') === 0
}

/** True for the largest id: nothing comes after it. */
export function isMaxId(id: string): boolean {
  return compareEventIds(id, MAX_STREAM_ID) === 0
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
  const gone = () =>
    new LeanflowError(
      'HISTORY_GONE',
      `Run "${runId}" has no event "${after}" or later: that position is past its last event, so it is not from this run's history (an id of another run, or of writes the store lost). Reload the run from the start.`,
    )
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
