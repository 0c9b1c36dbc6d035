import { AwaitTimeoutError, NonDeterminismError, NonRetriableError, RetryAfterError } from '@leanflow/core'
import { describe, expect, it } from 'vitest'
import { isRetriable, normalizeRetry, retryDelay } from './retryPolicy.js'

describe('retry policy', () => {
  it('defaults to 3 attempts, exponential from 1 s capped at 30 s, ±20% jitter', () => {
    expect(normalizeRetry(undefined)).toEqual({ attempts: 3, type: 'exponential', delayMs: 1000, maxDelayMs: 30_000, jitter: 0.2 })
  })

  it('doubles per attempt, caps, and spreads by the jitter', () => {
    const p = normalizeRetry({ jitter: 0 })
    expect([2, 3, 4, 5, 6, 7].map((n) => retryDelay(p, n, new Error()))).toEqual([1000, 2000, 4000, 8000, 16000, 30000])
    const j = normalizeRetry({})
    expect(retryDelay(j, 2, new Error(), () => 0)).toBe(800)
    expect(retryDelay(j, 2, new Error(), () => 1)).toBe(1200)
    expect(retryDelay(normalizeRetry({ backoff: { type: 'fixed', delayMs: 50 }, jitter: 0 }), 5, new Error())).toBe(50)
    expect(retryDelay(j, 2, new RetryAfterError(1234))).toBe(1234)
  })

  it('a RetryAfterError without a usable delay says what the runner does with it (never "Retry after NaN ms.")', () => {
    const j = normalizeRetry({ backoff: { type: 'fixed', delayMs: 700 }, jitter: 0 })
    expect(new RetryAfterError(1500).message).toBe('Retry after 1500 ms.')
    const missing = new RetryAfterError(Number(undefined) * 1000) // a Retry-After header that was missing
    expect(missing.message).toBe("Retry after NaN ms: no delay to use, so the retry policy's backoff decides.")
    expect(retryDelay(j, 2, missing)).toBe(700)
    expect(new RetryAfterError(-5).message).toMatch(/negative delay retries at once/)
    expect(retryDelay(j, 2, new RetryAfterError(-5))).toBe(0)
    expect(new RetryAfterError(Number.POSITIVE_INFINITY).message).toMatch(/capped at a year/)
    expect(new RetryAfterError(10, 'custom').message).toBe('custom')
  })

  it('retries every error but NonRetriable, AwaitTimeout and NonDeterminism', () => {
    expect(isRetriable(new Error('x'))).toBe(true)
    expect(isRetriable('string')).toBe(true)
    expect(isRetriable(new RetryAfterError(5))).toBe(true)
    expect(isRetriable(new NonRetriableError('x'))).toBe(false)
    expect(isRetriable(new AwaitTimeoutError())).toBe(false)
    expect(isRetriable(new NonDeterminismError('x'))).toBe(false)
    expect(isRetriable(Object.assign(new Error('declined'), { retriable: false }))).toBe(false)
    expect(isRetriable(Object.assign(new Error('flaky'), { retriable: true }))).toBe(true)
  })
})
