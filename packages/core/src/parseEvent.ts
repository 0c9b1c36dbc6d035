import { InvalidEventError } from './errors.js'
import { isEventId } from './eventIds.js'
import type { EventMeta, EventRecord } from './events.js'

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/

/**
 * Validates an unknown value as an {@link EventRecord} and returns a clean
 * copy (only the envelope's keys). Bad input throws {@link InvalidEventError}
 * naming the field; it never crashes later code.
 *
 * @example
 * ```ts
 * const e = parseEvent(JSON.parse(line)) // throws INVALID_EVENT on a bad record
 * ```
 */
export function parseEvent(value: unknown): EventRecord {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidEventError(`An event must be an object, got ${describe(value)}.`)
  }
  const v = value as Record<string, unknown>
  if (!isEventId(v.id)) throw new InvalidEventError(`Event "id" must be a stream id "<ms>-<seq>", got ${describe(v.id)}.`)
  if (typeof v.ts !== 'string' || !ISO.test(v.ts) || Number.isNaN(Date.parse(v.ts))) {
    throw new InvalidEventError(`Event "ts" must be an ISO 8601 time string, got ${describe(v.ts)}.`)
  }
  if (typeof v.kind !== 'string' || v.kind.length === 0)
    throw new InvalidEventError(`Event "kind" must be a non-empty string, got ${describe(v.kind)}.`)
  if (typeof v.flow !== 'string' || v.flow.length === 0)
    throw new InvalidEventError(`Event "flow" must be a non-empty string (the run id), got ${describe(v.flow)}.`)
  if ('step' in v && v.step !== undefined && typeof v.step !== 'string') {
    throw new InvalidEventError(`Event "step" must be a string when present, got ${describe(v.step)}.`)
  }
  if (!('data' in v) || v.data === undefined) throw new InvalidEventError('Event "data" is missing: use null for no data.')
  if ('meta' in v && v.meta !== undefined && (typeof v.meta !== 'object' || v.meta === null || Array.isArray(v.meta))) {
    throw new InvalidEventError(`Event "meta" must be an object when present, got ${describe(v.meta)}.`)
  }
  // the keys in the order of a stored record: id, ts, kind, flow, step?, data, meta?
  const out: EventRecord =
    typeof v.step === 'string'
      ? { id: v.id, ts: v.ts, kind: v.kind, flow: v.flow, step: v.step, data: v.data }
      : { id: v.id, ts: v.ts, kind: v.kind, flow: v.flow, data: v.data }
  if (v.meta !== undefined) out.meta = v.meta as EventMeta
  return out
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing'
  if (value === null) return 'null'
  if (typeof value === 'string') return value.length > 40 ? `a ${value.length}-character string` : JSON.stringify(value)
  if (Array.isArray(value)) return 'an array'
  return `a ${typeof value}`
}
