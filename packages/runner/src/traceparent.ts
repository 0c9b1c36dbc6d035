import { isTraceparent, LeanflowError, shown } from '@leanflow/core'

/**
 * The `traceparent` option of `startFlow`, checked: a W3C trace-context header value
 * (`00-<32 hex trace id>-<16 hex span id>-<2 hex flags>`, ids not all zeros; a later version
 * than 00 may carry more `-` fields after the flags), or undefined.
 */
export function traceparentOf(value: unknown): string | undefined {
  if (value === undefined) return undefined
  if (isTraceparent(value)) return value
  throw new LeanflowError(
    'INVALID_ARGUMENT',
    `Invalid traceparent ${shown(value)}: pass a W3C trace-context value such as "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", or leave it out.`,
  )
}
