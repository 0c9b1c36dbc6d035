import { createHash } from 'node:crypto'

/** A parsed W3C `traceparent`: trace id (32 hex), span id (16 hex), trace flags. */
export interface TraceParent {
  traceId: string
  spanId: string
  traceFlags: number
}

// a version above 00 may carry more fields after the flags (W3C Trace Context: a parser reads the first four)
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/
const ZEROS = /^0+$/

/**
 * `value` as a {@link TraceParent}, or undefined when it is not a valid W3C `traceparent`.
 *
 * @example
 * ```ts
 * parseTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')
 * // { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: 1 }
 * parseTraceparent('garbage') // undefined
 * ```
 */
export function parseTraceparent(value: unknown): TraceParent | undefined {
  const m = typeof value === 'string' ? TRACEPARENT.exec(value.trim()) : null
  if (!m || m[1] === 'ff' || (m[1] === '00' && m[5] !== undefined)) return undefined
  const [, , traceId = '', spanId = '', flags = '00'] = m
  if (ZEROS.test(traceId) || ZEROS.test(spanId)) return undefined
  return { traceId, spanId, traceFlags: Number.parseInt(flags, 16) }
}

/**
 * The W3C `traceparent` of a span: `00-<trace id>-<span id>-<flags>`.
 *
 * @example
 * ```ts
 * formatTraceparent({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: 1 })
 * // '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
 * ```
 */
export function formatTraceparent(p: TraceParent): string {
  return `00-${p.traceId}-${p.spanId}-${(p.traceFlags & 0xff).toString(16).padStart(2, '0')}`
}

/** `hexChars` hex characters of SHA-256 over `parts`, never all zeros (an invalid OTel id). */
function digest(hexChars: number, parts: readonly (string | number)[]): string {
  const hex = createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, hexChars)
  return ZEROS.test(hex) ? `${hex.slice(0, -1)}1` : hex
}

/**
 * The run's trace: its `flow.started.meta.traceparent`'s trace (the caller's), or a trace id
 * derived from the run id alone — the same in every process.
 *
 * @example
 * ```ts
 * traceOf('V1StGXR8Z5jdHi6BmyTab', undefined) // { traceId: <32 hex of the run id>, traceFlags: 1 }
 * ```
 */
export function traceOf(runId: string, traceparent: unknown): { traceId: string; traceFlags: number; parentSpanId?: string } {
  const tp = parseTraceparent(traceparent)
  if (tp) return { traceId: tp.traceId, traceFlags: tp.traceFlags, parentSpanId: tp.spanId }
  return { traceId: digest(32, ['leanflow.trace', runId]), traceFlags: 1 }
}

/**
 * The span id of a run's span, derived from its trace and run id.
 *
 * @example
 * ```ts
 * const spanId = runSpanId(traceId, runId) // the same in every process: link a span to the run's
 * ```
 */
export function runSpanId(traceId: string, runId: string): string {
  return digest(16, ['leanflow.run', traceId, runId])
}

/**
 * The span id of one attempt of a step, derived from its trace, run id, step name and attempt.
 *
 * @example
 * ```ts
 * const spanId = attemptSpanId(traceId, runId, 'charge', 2) // the span of charge's second attempt
 * ```
 */
export function attemptSpanId(traceId: string, runId: string, step: string, attempt: number): string {
  return digest(16, ['leanflow.step', traceId, runId, step, attempt])
}
