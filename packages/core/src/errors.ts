/**
 * Every error code leanflow throws, mapped to its HTTP status (`null`: no
 * HTTP meaning, the error stays inside a step or the runner).
 *
 * @example
 * ```ts
 * import { ERROR_STATUS } from '@leanflow/core'
 * ERROR_STATUS.RUN_NOT_FOUND // 404
 * ```
 */
export const ERROR_STATUS = {
  INVALID_EVENT: 400,
  INVALID_NAME: 400,
  INVALID_ARGUMENT: 400,
  PAYLOAD_TOO_LARGE: 413,
  FLOW_NOT_FOUND: 404,
  RUN_NOT_FOUND: 404,
  SCHEDULE_NOT_FOUND: 404,
  TRIGGER_NOT_FOUND: 404,
  TRIGGER_CONFLICT: 409,
  RUN_TOO_LONG: 409,
  HISTORY_GONE: 410,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  INTERNAL: 500,
  STORE_UNAVAILABLE: 503,
  STORE_FULL: 507,
  AWAIT_TIMEOUT: null,
  NON_DETERMINISM: null,
  NON_RETRIABLE: null,
  RETRY_AFTER: null,
  CHILD_RUN_FAILED: null,
  RUN_FAILED: null,
  RUN_CANCELED: null,
} as const

/** One of the codes of {@link ERROR_STATUS}. */
export type ErrorCode = keyof typeof ERROR_STATUS

const BRAND = Symbol.for('leanflow.error')

/**
 * The base of every error leanflow throws. Detect it with
 * {@link isLeanflowError}, not `instanceof` (ESM and CJS copies may both be loaded).
 *
 * @example
 * ```ts
 * try { await store.append('bad:id', e) } catch (err) {
 *   if (isLeanflowError(err) && err.code === 'INVALID_NAME') { … }
 * }
 * ```
 */
export class LeanflowError extends Error {
  readonly code: ErrorCode
  /** HTTP status for this code, or `undefined` when it has none. */
  get status(): number | undefined {
    return ERROR_STATUS[this.code] ?? undefined
  }
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
    this.name = 'LeanflowError'
    Object.defineProperty(this, BRAND, { value: true })
  }
}

/**
 * The class of the errors of the codes that carry fields of their own, which
 * {@link isLeanflowError} narrows to when given the code. Only leanflow throws these codes, each
 * with its class.
 */
export interface LeanflowErrorOfCode {
  RUN_FAILED: RunFailedError
  RUN_CANCELED: RunCanceledError
  CHILD_RUN_FAILED: ChildRunError
  RATE_LIMITED: RateLimitedError
  RETRY_AFTER: RetryAfterError
}

/** The error {@link isLeanflowError} narrows to for `code`: its class, else a {@link LeanflowError}. */
export type LeanflowErrorWithCode<C extends ErrorCode> = C extends keyof LeanflowErrorOfCode ? LeanflowErrorOfCode[C] : LeanflowError

/**
 * True for any {@link LeanflowError}, from any copy of `@leanflow/core` (where `instanceof` fails:
 * an ESM and a CJS copy both loaded). Given a code, true for that code only, and narrowed to
 * its class: `'RUN_FAILED'` to a {@link RunFailedError} (with `error`), `'CHILD_RUN_FAILED'` to a
 * {@link ChildRunError}, `'RATE_LIMITED'` to a {@link RateLimitedError} (see {@link LeanflowErrorOfCode}).
 *
 * @example
 * ```ts
 * if (isLeanflowError(err, 'RUN_NOT_FOUND')) return notFound()
 * if (isLeanflowError(err, 'RUN_FAILED')) console.log(err.runId, err.error)
 * ```
 */
export function isLeanflowError<C extends ErrorCode>(err: unknown, code: C): err is LeanflowErrorWithCode<C>
export function isLeanflowError(err: unknown, code?: ErrorCode): err is LeanflowError
export function isLeanflowError(err: unknown, code?: ErrorCode): err is LeanflowError {
  if (typeof err !== 'object' || err === null) return false
  if ((err as Record<symbol, unknown>)[BRAND] !== true) return false
  return code === undefined || (err as LeanflowError).code === code
}

/**
 * An event that does not have the envelope shape. Code `INVALID_EVENT`.
 *
 * @example
 * ```ts
 * try { parseEvent(JSON.parse(line)) }
 * catch (err) { if (isLeanflowError(err, 'INVALID_EVENT')) console.warn('skipped:', err.message) }
 * ```
 */
export class InvalidEventError extends LeanflowError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_EVENT', message, options)
    this.name = 'InvalidEventError'
  }
}

/**
 * A flow, step, kind or run name that breaks the name rule. Code `INVALID_NAME`.
 *
 * @example
 * ```ts
 * await store.append('order:1', e) // throws InvalidNameError: ':' is not allowed in a run id
 * ```
 */
export class InvalidNameError extends LeanflowError {
  constructor(message: string) {
    super('INVALID_NAME', message)
    this.name = 'InvalidNameError'
  }
}

/**
 * An event or body over its byte limit. Code `PAYLOAD_TOO_LARGE`. Its message names `option`, the
 * limit to raise (by default the store's `maxEventBytes`).
 *
 * @example
 * ```ts
 * try { await runner.startFlow('import', hugeInput) }
 * catch (err) { if (isLeanflowError(err, 'PAYLOAD_TOO_LARGE')) return upload(hugeInput) }
 * ```
 */
export class PayloadTooLargeError extends LeanflowError {
  readonly bytes: number
  readonly limit: number
  constructor(bytes: number, limit: number, what = 'event', option = "the store's maxEventBytes") {
    super(
      'PAYLOAD_TOO_LARGE',
      `The ${what} is ${bytes} bytes, over the limit of ${limit} bytes: send less data (store large blobs elsewhere and pass a reference), or raise ${option}.`,
    )
    this.name = 'PayloadTooLargeError'
    this.bytes = bytes
    this.limit = limit
  }
}

/**
 * A trigger id that is unknown, or whose run has expired. Code `TRIGGER_NOT_FOUND`.
 *
 * @example
 * ```ts
 * try { await runner.resolveTrigger(id, payload) }
 * catch (err) { if (isLeanflowError(err, 'TRIGGER_NOT_FOUND')) return res.status(404).end() }
 * ```
 */
export class TriggerNotFoundError extends LeanflowError {
  constructor(triggerId: string) {
    super('TRIGGER_NOT_FOUND', `Trigger "${triggerId}" is unknown or its run has expired: check the id the step handed out.`)
    this.name = 'TriggerNotFoundError'
  }
}

/**
 * A trigger already resolved, timed out or canceled. Code `TRIGGER_CONFLICT`.
 *
 * @example
 * ```ts
 * try { await runner.resolveTrigger(id, { approved: true }) }
 * catch (err) { if (isLeanflowError(err, 'TRIGGER_CONFLICT')) console.log('already answered') }
 * ```
 */
export class TriggerConflictError extends LeanflowError {
  readonly state: string
  constructor(triggerId: string, state: string) {
    super('TRIGGER_CONFLICT', `Trigger "${triggerId}" is already ${state}: a trigger resolves once; start a new await for another answer.`)
    this.name = 'TriggerConflictError'
    this.state = state
  }
}

/**
 * Thrown inside a step when an await's timeout passes first. Code `AWAIT_TIMEOUT`.
 *
 * @example
 * ```ts
 * try { await ctx.await.event({ kind: 'payment.confirmed', timeout: '1h' }) }
 * catch (err) { if (isLeanflowError(err, 'AWAIT_TIMEOUT')) return { paid: false }; throw err }
 * ```
 */
export class AwaitTimeoutError extends LeanflowError {
  constructor(message = 'The await timed out before it was satisfied.') {
    super('AWAIT_TIMEOUT', message)
    this.name = 'AwaitTimeoutError'
  }
}

/**
 * A replayed step called its awaits or `ctx.do` blocks in another order. Code `NON_DETERMINISM`.
 *
 * @example
 * ```ts
 * // a step that awaits by a condition that changes between its replays fails with it:
 * if (Math.random() > 0.5) await ctx.await.time('1m') // never: branch on input or results
 * ```
 */
export class NonDeterminismError extends LeanflowError {
  constructor(message: string) {
    super('NON_DETERMINISM', message)
    this.name = 'NonDeterminismError'
  }
}

/**
 * Throw it from a step to fail it for good, without retries. Code `NON_RETRIABLE`.
 *
 * @example
 * ```ts
 * if (res.status === 404) throw new NonRetriableError(`order ${input.orderId} does not exist`)
 * ```
 */
export class NonRetriableError extends LeanflowError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('NON_RETRIABLE', message, options)
    this.name = 'NonRetriableError'
  }
}

/** `Retry after 1500 ms.`, or what the runner does with a delay it cannot use (a `Retry-After` header that was missing: NaN). */
function retryAfterMessage(ms: unknown): string {
  if (typeof ms === 'number' && Number.isFinite(ms) && ms >= 0) return `Retry after ${ms} ms.`
  const shown = typeof ms === 'number' ? String(ms) : typeof ms
  if (typeof ms === 'number' && ms < 0) return `Retry after ${shown} ms: a negative delay retries at once.`
  if (ms === Number.POSITIVE_INFINITY) return 'Retry after Infinity ms: the delay is capped at a year.'
  return `Retry after ${shown} ms: no delay to use, so the retry policy's backoff decides.`
}

/**
 * Throw it from a step to retry after `ms` instead of the backoff. Code `RETRY_AFTER`.
 *
 * @example
 * ```ts
 * if (res.status === 429) throw new RetryAfterError(Number(res.headers.get('retry-after')) * 1000)
 * ```
 */
export class RetryAfterError extends LeanflowError {
  readonly ms: number
  constructor(ms: number, message = retryAfterMessage(ms)) {
    super('RETRY_AFTER', message)
    this.name = 'RetryAfterError'
    this.ms = ms
  }
}

/**
 * `startFlow` of a flow whose `rateLimit` has `mode: 'drop'` found its window full: nothing was
 * written. HTTP 429 with `Retry-After` (whole seconds of `retryAfterMs`, rounded up).
 *
 * @example
 * ```ts
 * try { await runner.startFlow('sync', input) }
 * catch (err) { if (isLeanflowError(err, 'RATE_LIMITED')) setTimeout(retry, err.retryAfterMs) }
 * ```
 */
export class RateLimitedError extends LeanflowError {
  /** ms until the window admits again (0: unknown, try soon). */
  readonly retryAfterMs: number
  constructor(flow: string, key: string, retryAfterMs: number) {
    const k = key === '' ? '' : ` for key "${key}"`
    super(
      'RATE_LIMITED',
      `Flow "${flow}" is rate limited${k} (rateLimit mode 'drop'): nothing was started; retry in ${Math.max(0, Math.ceil(retryAfterMs))} ms.`,
    )
    this.name = 'RateLimitedError'
    this.retryAfterMs = Math.max(0, Math.ceil(retryAfterMs))
  }
}

/**
 * What `ctx.invoke` throws when the child run failed or was canceled (code `CHILD_RUN_FAILED`):
 * `childRunId`, `childStatus` and the child's `error`. Not retried by the step's policy unless the
 * handler catches it and invokes again.
 *
 * @example
 * ```ts
 * try { await ctx.invoke(invoice, line) }
 * catch (err) { if (isLeanflowError(err, 'CHILD_RUN_FAILED') && err.childStatus === 'canceled') return { skipped: true }; throw err }
 * ```
 */
export class ChildRunError extends LeanflowError {
  readonly childRunId: string
  readonly childStatus: 'failed' | 'canceled'
  readonly error: string | undefined
  constructor(childRunId: string, flow: string, childStatus: 'failed' | 'canceled', error?: string) {
    const why = error === undefined ? '' : `: ${error}`
    super('CHILD_RUN_FAILED', `Child run "${childRunId}" of flow "${flow}" ${childStatus === 'failed' ? 'failed' : 'was canceled'}${why}.`)
    this.name = 'ChildRunError'
    this.childRunId = childRunId
    this.childStatus = childStatus
    this.error = error
  }
}

/**
 * What `runner.result(runId)` rejects with when the run failed (code `RUN_FAILED`), with its error.
 *
 * @example
 * ```ts
 * try { await runner.result(runId) } catch (err) { if (isLeanflowError(err, 'RUN_FAILED')) console.log(err.error) }
 * ```
 */
export class RunFailedError extends LeanflowError {
  readonly runId: string
  readonly error: string
  constructor(runId: string, error: string) {
    super('RUN_FAILED', `Run "${runId}" failed: ${error}`)
    this.name = 'RunFailedError'
    this.runId = runId
    this.error = error
  }
}

/**
 * What `runner.result(runId)` rejects with when the run was canceled (code `RUN_CANCELED`), with its reason.
 *
 * @example
 * ```ts
 * try { await runner.result(runId) } catch (err) { if (isLeanflowError(err, 'RUN_CANCELED')) console.log(err.reason) }
 * ```
 */
export class RunCanceledError extends LeanflowError {
  readonly runId: string
  readonly reason: string | undefined
  constructor(runId: string, reason?: string) {
    super('RUN_CANCELED', `Run "${runId}" was canceled${reason === undefined ? '' : `: ${reason}`}.`)
    this.name = 'RunCanceledError'
    this.runId = runId
    this.reason = reason
  }
}
