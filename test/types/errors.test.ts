import {
  type ChildRunError,
  isLeanflowError,
  type LeanflowError,
  type RateLimitedError,
  type RetryAfterError,
  type RunCanceledError,
  type RunFailedError,
} from '@leanflow/core'
import { describe, expectTypeOf, it } from 'vitest'

// isLeanflowError(err, code) narrows to the class of the codes that carry fields of their own, so
// `err.error`, `err.childRunId`, `err.retryAfterMs` read without a cast and work across ESM and CJS
// copies (where `instanceof` fails). Checked by `pnpm typecheck`.
describe('isLeanflowError narrows by code', () => {
  it('to the class of a code with fields, else to LeanflowError', () => {
    const err: unknown = new Error('x')
    if (isLeanflowError(err, 'RUN_FAILED')) expectTypeOf(err).toEqualTypeOf<RunFailedError>()
    if (isLeanflowError(err, 'RUN_CANCELED')) expectTypeOf(err).toEqualTypeOf<RunCanceledError>()
    if (isLeanflowError(err, 'CHILD_RUN_FAILED')) expectTypeOf(err.childStatus).toEqualTypeOf<'failed' | 'canceled'>()
    if (isLeanflowError(err, 'CHILD_RUN_FAILED')) expectTypeOf(err).toEqualTypeOf<ChildRunError>()
    if (isLeanflowError(err, 'RATE_LIMITED')) expectTypeOf(err).toEqualTypeOf<RateLimitedError>()
    if (isLeanflowError(err, 'RETRY_AFTER')) expectTypeOf(err).toEqualTypeOf<RetryAfterError>()
    if (isLeanflowError(err, 'RUN_NOT_FOUND')) expectTypeOf(err).toEqualTypeOf<LeanflowError>()
    if (isLeanflowError(err)) expectTypeOf(err).toEqualTypeOf<LeanflowError>()
  })
})
