import type { Duration } from '@leanflow/core'

/**
 * A key function: the name of the group a run belongs to (a tenant, a user, an API key), from
 * the run's input. It must return a name (1-128 of `A-Z a-z 0-9 _ . -`); a throw or a bad name
 * rejects `startFlow` before anything is written.
 */
export type LimitKey<I = any> = (input: I) => string

/**
 * At most `limit` at once: active runs of the flow (admitted and not ended), or running
 * executions of a step. With `key`, per key.
 *
 * @example
 * ```ts
 * defineFlow({ name: 'sync', concurrency: { limit: 1, key: (input) => input.tenantId }, steps })
 * ```
 */
export interface ConcurrencyLimit<I = any> {
  /** A positive integer. */
  limit: number
  key?: LimitKey<I> | undefined
}

/**
 * At most `limit` admissions of runs in any window of `period`, per key. `queue` (default) makes
 * the excess wait; `drop` refuses it (`RateLimitedError`, HTTP 429).
 *
 * @example
 * ```ts
 * defineFlow({ name: 'call', rateLimit: { limit: 100, period: '1m', key: (input) => input.apiKey }, steps })
 * ```
 */
export interface RateLimit<I = any> {
  limit: number
  period: Duration
  key?: LimitKey<I> | undefined
  /** @default 'queue' */
  mode?: 'queue' | 'drop' | undefined
}

/**
 * Calls with one key within `period` of the last one fold into one run, admitted `period` after
 * the last call (at most `maxWait` after the first) with the last call's input.
 *
 * @example
 * ```ts
 * defineFlow({ name: 'reindex', debounce: { period: '5s', maxWait: '1m', key: (input) => input.userId }, steps })
 * ```
 */
export interface DebounceConfig<I = any> {
  period: Duration
  maxWait?: Duration | undefined
  key?: LimitKey<I> | undefined
}

/**
 * One active run per key (queued runs count): `skip` (default) returns the active run
 * (`deduplicated: true`); `cancel` cancels it (`reason: 'superseded'`) and starts the new one.
 *
 * @example
 * ```ts
 * defineFlow({ name: 'sync-user', singleton: { key: (input) => input.userId, mode: 'skip' }, steps })
 * ```
 */
export interface SingletonConfig<I = any> {
  key?: LimitKey<I> | undefined
  /** @default 'skip' */
  mode?: 'skip' | 'cancel' | undefined
}

/** The flow-control options of `defineFlow` (see the "Flow control" docs page). */
export interface FlowControlConfig<I = any> {
  /** One limit, or several that must all admit. */
  concurrency?: ConcurrencyLimit<I> | readonly ConcurrencyLimit<I>[] | undefined
  rateLimit?: RateLimit<I> | undefined
  debounce?: DebounceConfig<I> | undefined
  singleton?: SingletonConfig<I> | undefined
}
