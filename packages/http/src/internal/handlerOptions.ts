// The options of createHandler that are not numbers, checked once when the handler is made: a
// wrong one is INVALID_ARGUMENT naming it and the fix, never a TypeError later (`basePath.trim is
// not a function`), a 500 on every request (an `authorize` that is no function), or a silent
// change of meaning (`triggerSecret: []` would turn signature checks off).
import { invalidArgument, LeanflowError } from '@leanflow/core'
import type { HandlerRunner } from '../types.js'

/** What a base path may hold: the characters a URL path keeps as they are (and `%` escapes). */
const PATH = /^[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*$/

/** A `.` or `..` path segment, as written or percent-encoded. */
const DOT_SEGMENT = /^(?:\.|%2e){1,2}$/i

/** `basePath` as given (a string of URL path characters, no dot segments), or INVALID_ARGUMENT. */
export function basePathOption(value: unknown): string {
  if (typeof value !== 'string' || !PATH.test(value.trim())) {
    throw invalidArgument(
      'createHandler basePath',
      value,
      "a URL path such as '/flows' or '/api/flows' (no query, fragment, spaces or other characters a URL would escape)",
    )
  }
  // a URL resolves `.` and `..` segments (also encoded) before any request reaches a route: no
  // request would ever match such a base path
  if (
    value
      .trim()
      .split('/')
      .some((seg) => DOT_SEGMENT.test(seg))
  )
    throw invalidArgument(
      'createHandler basePath',
      value,
      "a path without '.' or '..' segments, as requests reach it ('/api/flows', not '/api/../flows')",
    )
  return value
}

/** The trigger secrets: none without the option (`undefined` or `null`), else one or more non-empty strings. */
export function secretsOption(value: unknown): string[] {
  if (value === undefined || value === null) return []
  const secrets = typeof value === 'string' ? [value] : Array.isArray(value) ? [...value] : undefined
  if (secrets === undefined || secrets.length === 0 || secrets.some((s) => typeof s !== 'string' || s === '')) {
    throw new LeanflowError(
      'INVALID_ARGUMENT',
      'createHandler: triggerSecret must be a non-empty string (or an array of them, at least one); leave it out to accept unsigned trigger calls.',
    )
  }
  return secrets
}

/** An optional callback option (`authorize`, `onError`): a function or absent. */
export function functionOption<F>(name: string, value: F | undefined): F | undefined {
  if (value !== undefined && typeof value !== 'function')
    throw invalidArgument(`createHandler ${name}`, value, 'a function, or leave it out')
  return value
}

const RUNNER_METHODS = ['startFlow', 'cancel', 'resolveTrigger', 'publishEvent'] as const

/** The `runner` option: absent, or an object with the methods and `flows` the routes call. */
export function runnerOption(value: HandlerRunner | undefined): HandlerRunner | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'object' || value === null) {
    throw invalidArgument('createHandler runner', value, 'a runner from createRunner(), or leave it out')
  }
  const missing = Array.isArray(value.flows) ? RUNNER_METHODS.find((m) => typeof value[m] !== 'function') : 'flows (an array)'
  if (missing !== undefined) {
    throw invalidArgument('createHandler runner', value, `a runner from createRunner() (this one has no ${missing}), or leave it out`)
  }
  return value
}
