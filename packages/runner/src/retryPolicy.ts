import { assertKnownKeys, invalidArgument, isLeanflowError, type RetryAfterError } from '@leanflow/core'
import type { RetryPolicy } from './types.js'

/** A retry policy with every default filled in. */
export interface NormalizedRetry {
  attempts: number
  type: 'fixed' | 'exponential'
  delayMs: number
  maxDelayMs: number
  jitter: number
}

/**
 * The default retry policy: 3 tries in all, exponential backoff from 1 s,
 * capped at 30 s, ±20% jitter.
 *
 * @example
 * ```ts
 * defineFlow({ name: 'f', steps: { a: { retry: { ...DEFAULT_RETRY, attempts: 5 }, handler } } })
 * ```
 */
export const DEFAULT_RETRY = Object.freeze({
  attempts: 3,
  backoff: Object.freeze({ type: 'exponential' as const, delayMs: 1000, maxDelayMs: 30_000 }),
  jitter: 0.2,
})

const bad = (what: string, value: unknown, expected: string) => invalidArgument(what ? `retry ${what}` : 'retry', value, expected)
const isObject = (v: unknown): v is object => typeof v === 'object' && v !== null && !Array.isArray(v)

/**
 * Fills in the defaults of a {@link RetryPolicy} and validates it.
 *
 * @example
 * ```ts
 * normalizeRetry({ attempts: 5 }).delayMs // 1000
 * ```
 */
export function normalizeRetry(policy: RetryPolicy | undefined): NormalizedRetry {
  if (policy !== undefined && !isObject(policy)) throw bad('', policy, 'a policy object, e.g. retry: { attempts: 5 }')
  const p = policy ?? {}
  assertKnownKeys(p, ['attempts', 'backoff', 'jitter'], 'The retry policy')
  if (p.backoff !== undefined && !isObject(p.backoff))
    throw bad('backoff', p.backoff, "an object, e.g. backoff: { type: 'exponential', delayMs: 1000 }")
  if (p.backoff !== undefined) assertKnownKeys(p.backoff, ['type', 'delayMs', 'maxDelayMs'], 'The retry backoff')
  const attempts = p.attempts ?? DEFAULT_RETRY.attempts
  if (!Number.isInteger(attempts) || attempts < 1) throw bad('attempts', attempts, 'a whole number above 0 (all tries, the first included)')
  const type = p.backoff?.type ?? DEFAULT_RETRY.backoff.type
  if (type !== 'fixed' && type !== 'exponential') throw bad('backoff.type', type, "'fixed' or 'exponential'")
  const delayMs = p.backoff?.delayMs ?? DEFAULT_RETRY.backoff.delayMs
  if (!Number.isFinite(delayMs) || delayMs < 0) throw bad('backoff.delayMs', delayMs, 'a number of ms >= 0')
  const maxDelayMs = p.backoff?.maxDelayMs ?? Math.max(DEFAULT_RETRY.backoff.maxDelayMs, delayMs)
  if (!Number.isFinite(maxDelayMs) || maxDelayMs < 0) throw bad('backoff.maxDelayMs', maxDelayMs, 'a number of ms >= 0')
  const jitter = p.jitter ?? DEFAULT_RETRY.jitter
  if (!Number.isFinite(jitter) || jitter < 0 || jitter > 1) throw bad('jitter', jitter, 'a fraction between 0 and 1')
  return { attempts, type, delayMs, maxDelayMs, jitter }
}

/**
 * True when an error may be retried: everything except `NonRetriableError`,
 * `AwaitTimeoutError`, `NonDeterminismError`, `ChildRunError`, a `RUN_TOO_LONG` from the store
 * (the run holds all the events its store takes) and any error whose `retriable` property is
 * `false` (the convention of errors thrown by HTTP clients and SDKs).
 *
 * @example
 * ```ts
 * isRetriable(new Error('boom')) // true
 * isRetriable(Object.assign(new Error('card declined'), { retriable: false })) // false
 * ```
 */
export function isRetriable(err: unknown): boolean {
  try {
    if (typeof err === 'object' && err !== null && (err as { retriable?: unknown }).retriable === false) return false
    return !(
      isLeanflowError(err, 'NON_RETRIABLE') ||
      isLeanflowError(err, 'AWAIT_TIMEOUT') ||
      isLeanflowError(err, 'NON_DETERMINISM') ||
      // a retry would replay the same child outcome: invoke again (a new call) to start another child
      isLeanflowError(err, 'CHILD_RUN_FAILED') ||
      // the run holds as many events as its store takes: a retry could not even record its start
      isLeanflowError(err, 'RUN_TOO_LONG')
    )
  } catch {
    // a thrown value whose properties throw when read (a hostile proxy): an error like any other
    return true
  }
}

/** The longest delay a `RetryAfterError` sets: a year (a longer one, or Infinity, waits this long). */
export const MAX_RETRY_AFTER_MS = 365 * 86_400_000

/**
 * The delay before try `nextAttempt` (2 for the first retry): the error's
 * `RetryAfterError` delay, else the backoff with jitter, capped.
 *
 * @example
 * ```ts
 * retryDelay(normalizeRetry({ jitter: 0 }), 3, new Error('x')) // 2000
 * ```
 */
export function retryDelay(policy: NormalizedRetry, nextAttempt: number, err: unknown, random = Math.random): number {
  if (isRetryAfter(err)) {
    const ms = (err as RetryAfterError).ms
    // NaN (a header that was missing), Infinity, a string: no delay to use, the backoff below decides
    if (typeof ms === 'number' && !Number.isNaN(ms)) return Math.round(Math.min(MAX_RETRY_AFTER_MS, Math.max(0, ms)))
  }
  const base = policy.type === 'fixed' ? policy.delayMs : policy.delayMs * 2 ** Math.max(0, nextAttempt - 2)
  const spread = 1 + policy.jitter * (2 * random() - 1)
  return Math.round(Math.min(policy.maxDelayMs, base * spread))
}

/** Whether `err` is a `RetryAfterError` (false for a value whose properties throw when read). */
function isRetryAfter(err: unknown): boolean {
  try {
    return isLeanflowError(err, 'RETRY_AFTER')
  } catch {
    return false
  }
}
