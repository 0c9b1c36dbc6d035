import { LeanflowError } from '@leanflow/core'

// a version above 00 may carry more fields after the flags (W3C Trace Context: a parser reads the first four)
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/

/**
 * The `traceparent` option of `startFlow`, checked: a W3C trace-context header value
 * (`00-<32 hex trace id>-<16 hex span id>-<2 hex flags>`, ids not all zeros; a later version
 * than 00 may carry more `-` fields after the flags), or undefined.
 */
export function traceparentOf(value: unknown): string | undefined {
  if (value === undefined) return undefined
  const m = typeof value === 'string' ? TRACEPARENT.exec(value) : null
  if (m && m[1] !== 'ff' && !(m[1] === '00' && m[5] !== undefined) && !/^0+$/.test(m[2] as string) && !/^0+$/.test(m[3] as string))
    return value as string
  throw new LeanflowError(
    'INVALID_ARGUMENT',
    `Invalid traceparent ${JSON.stringify(value)}: pass a W3C trace-context value such as "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", or leave it out.`,
  )
}
