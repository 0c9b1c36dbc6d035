// Defensive readers for event fields: the reducer must never throw on
// missing or garbage data (null, a string, an array where an object belongs).
// They are small on purpose: every byte here is in a browser bundle of the reducer.

import type { QueueReason } from '../events.js'
import type { QueueWait } from '../flowState.js'

/** A record to read fields from: a non-null, non-array object. */
export type Fields = Readonly<Record<string, unknown>>

/** A null-prototype copy of `v`'s own enumerable fields (none for undefined or null): every key is its own, `__proto__` too. */
export function nullProto<T extends object>(v?: T | undefined): T {
  return Object.assign(Object.create(null), v)
}

/** True for a non-null object that is not an array. */
export function isRecord(v: unknown): v is Fields {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/**
 * `data` as an object to read named fields from: itself, a primitive's wrapper, or a new empty
 * object for null and undefined. The reducer reads only names no prototype of JSON data has.
 */
export const fieldsOf = Object as (data: unknown) => Fields

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

/**
 * `{ a, b }` of a record whose fields `a` and `b` are both strings (`schedule`, `parent`), else
 * undefined; with `bOptional`, `{ a }` when `b` is no string (`rerunOf`'s `from`).
 */
export function strings<K extends string>(v: unknown, a: K, b: K, bOptional?: boolean): Record<K, string> | undefined {
  const f = fieldsOf(v)
  const x = f[a]
  const y = f[b]
  return typeof x !== 'string'
    ? undefined
    : typeof y === 'string'
      ? ({ [a]: x, [b]: y } as Record<K, string>)
      : bOptional
        ? ({ [a]: x } as Record<K, string>)
        : undefined
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
  // strings, numbers, booleans, BigInts (and, outside JSON, symbols and functions)
  if (typeof v !== 'object') return String(v)
  if (typeof (v as Fields).message === 'string') return (v as Fields).message as string
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
