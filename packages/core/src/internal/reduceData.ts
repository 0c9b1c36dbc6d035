// Defensive readers for event fields: the reducer must never throw on
// missing or garbage data (null, a string, an array where an object belongs).
// They are small on purpose: every byte here is in a browser bundle of the reducer.

import type { QueueReason } from '../events.js'
import type { QueueWait } from '../flowState.js'

/** A record to read fields from: a non-null, non-array object. */
export type Fields = Readonly<Record<string, unknown>>

export const NO_FIELDS: Fields = /* @__PURE__ */ Object.freeze(Object.create(null))

/** True for a non-null object that is not an array. */
export function isRecord(v: unknown): v is Fields {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** `data` as a record to read fields from; garbage reads as no fields. */
export function fieldsOf(data: unknown): Fields {
  return isRecord(data) ? data : NO_FIELDS
}

/** True for a non-empty string (a run id, a step name). */
export function isName(v: unknown): v is string {
  return typeof v === 'string' && v !== ''
}

/** A string field, or undefined. */
export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined
}

/** Sets `o[k]` to `v` unless `v` is undefined (then `o` keeps no such key). */
export function put(o: object, k: string, v: unknown): void {
  if (v !== undefined) (o as Record<string, unknown>)[k] = v
}

/** `{ a, b }` of a record whose fields `a` and `b` are both strings (`schedule`, `parent`), else undefined. */
export function strings<K extends string>(v: unknown, a: K, b: K): Record<K, string> | undefined {
  const f = fieldsOf(v)
  const x = f[a]
  const y = f[b]
  return typeof x === 'string' && typeof y === 'string' ? ({ [a]: x, [b]: y } as Record<K, string>) : undefined
}

/** A finite number field, or undefined. */
export function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined
}

/** A valid attempt number (a positive integer), or undefined. */
export function attemptOf(meta: unknown): number | undefined {
  const a = fieldsOf(meta).attempt
  return Number.isInteger(a) && (a as number) >= 1 ? (a as number) : undefined
}

/** Any value as display text, never throwing (objects with a null prototype, cycles, BigInt). */
export function toText(v: unknown): string {
  if (v == null) return ''
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v)
  if (isRecord(v) && typeof v.message === 'string') return v.message
  try {
    return JSON.stringify(v) ?? ''
  } catch {
    return '[unprintable]'
  }
}

/** The `queued` of `flow.queued` / `step.queued` data: `reason` as text, and `key` and `until` when they are strings. */
export function queuedOf(data: unknown): QueueWait {
  const d = fieldsOf(data)
  const q = { reason: toText(d.reason) as QueueReason }
  put(q, 'key', str(d.key))
  put(q, 'until', str(d.until))
  return q
}

/** `data.rerunOf` of `flow.started`: `{ runId, from? }` when `runId` (and `from`, when present) are strings. */
export function rerunOfData(v: unknown): { runId: string; from?: string } | undefined {
  // any object, arrays too (a record is not required here)
  const { runId, from } = ((typeof v === 'object' && v) || NO_FIELDS) as Fields
  return typeof runId !== 'string' ? undefined : typeof from === 'string' ? { runId, from } : { runId }
}
