import { type EventMeta, type EventRecord, jsonTextDepth, MAX_JSON_DEPTH, type NewEvent, parseEvent } from '@leanflow/core'

/**
 * What the store reports for an entry it skipped (see the `onCorrupt` option).
 *
 * @example
 * ```ts
 * createRedisStreamStore({ url, onCorrupt: ({ runId, id, reason }) => console.warn(`skipped ${runId}/${id}: ${reason}`) })
 * ```
 */
export interface CorruptEntryInfo {
  /** The run whose log holds the entry; `''` for an entry of the external events of `eventKind`. */
  runId: string
  /** The stream id of the bad entry. */
  id: string
  /** For an entry of an external-event stream (`publishEvent`, `POST /events`): its kind. */
  eventKind?: string
  /** Why it was skipped. */
  reason: string
}

/** Called for every skipped entry; must not throw (errors it throws are ignored). */
export type CorruptHandler = (info: CorruptEntryInfo) => void

/** The stream field that holds an event's JSON (`kind`, `flow`, `step`, `data`, `meta`). */
export const EVENT_FIELD = 'e'

/** Milliseconds of a stream id as an ISO string (the record's `ts`). */
export function idToTs(id: string): string {
  const ms = id.slice(0, id.indexOf('-'))
  if (ms !== lastMs) {
    lastIso = new Date(Number(ms)).toISOString() // throws RangeError on an absurd id: callers treat it as corrupt
    lastMs = ms
  }
  return lastIso
}
// events of one millisecond share their ts string
let lastMs = ''
let lastIso = ''

/**
 * Turns a stored entry into a record, or returns `undefined` after
 * reporting it to `onCorrupt` (bad JSON, a missing field, a record that
 * fails `parseEvent`, an entry of another run).
 */
export function decodeEntry(runId: string, id: string, fields: unknown, onCorrupt: CorruptHandler): EventRecord | undefined {
  let json: string | undefined
  if (Array.isArray(fields)) {
    for (let i = 0; i + 1 < fields.length; i += 2) {
      if (fields[i] === EVENT_FIELD) json = fields[i + 1]
    }
  }
  if (typeof json !== 'string') return corrupt(onCorrupt, runId, id, `no "${EVENT_FIELD}" field`)
  return decodeJson(runId, id, json, onCorrupt)
}

/** Like {@link decodeEntry}, for the event JSON alone. */
export function decodeJson(runId: string, id: string, json: string, onCorrupt: CorruptHandler): EventRecord | undefined {
  // an entry nested that deep was written by hand (the runner stores no value past MAX_JSON_DEPTH),
  // and every reader that copies or serializes it (an SSE frame, a run's document) would overflow
  // its stack (a text this short cannot nest that deep: no scan on the common path)
  if (tooDeep(json)) return corrupt(onCorrupt, runId, id, `the event nests more than ${MAX_ENTRY_DEPTH} levels deep`)
  let body: unknown
  try {
    body = JSON.parse(json)
  } catch {
    return corrupt(onCorrupt, runId, id, 'the event is not valid JSON')
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return corrupt(onCorrupt, runId, id, 'the event is not an object')
  const o = body as Record<string, unknown>
  let ts: string
  try {
    ts = idToTs(id)
  } catch {
    return corrupt(onCorrupt, runId, id, 'the entry id is not a time')
  }
  const { kind, flow, step, data, meta } = o
  // Fast path for what the append script wrote: the checks of parseEvent, without re-validating
  // the id and ts the store derived itself. Anything else goes through parseEvent for its reason.
  if (
    typeof kind === 'string' &&
    kind.length > 0 &&
    flow === runId &&
    data !== undefined &&
    (step === undefined || typeof step === 'string') &&
    (meta === undefined || (typeof meta === 'object' && meta !== null && !Array.isArray(meta)))
  ) {
    // the keys in the stored order (id, ts, kind, flow, step?, data, meta?), as the memory store gives them
    const record: EventRecord = step === undefined ? { id, ts, kind, flow: runId, data } : { id, ts, kind, flow: runId, step, data }
    if (meta !== undefined) record.meta = meta as EventMeta
    return record
  }
  let record: EventRecord
  try {
    record = parseEvent({ id, ts, kind, flow, step, data, meta })
  } catch (err) {
    return corrupt(onCorrupt, runId, id, err instanceof Error ? err.message : String(err))
  }
  return corrupt(onCorrupt, runId, id, `the event belongs to run "${record.flow}"`)
}

function corrupt(onCorrupt: CorruptHandler, runId: string, id: string, reason: string, eventKind?: string): undefined {
  try {
    onCorrupt(eventKind === undefined ? { runId, id, reason } : { runId, id, reason, eventKind })
  } catch {
    // a hook that throws must not break a read or a follow
  }
  return undefined
}

/** The returned record, from the caller's data (no re-parse of the stored JSON). */
export function buildRecord(runId: string, id: string, event: NewEvent): EventRecord {
  // the keys in the order of a stored record (id, ts, kind, flow, step?, data, meta?), as the memory store gives them
  const ts = idToTs(id)
  const data = event.data ?? null
  const record: EventRecord =
    event.step === undefined
      ? { id, ts, kind: event.kind, flow: runId, data }
      : { id, ts, kind: event.kind, flow: runId, step: event.step, data }
  if (event.meta !== undefined) record.meta = event.meta
  return record
}

/** A decoded entry of an external-event stream: its sequence number, time (ms) and data. */
export interface ExternalEntry {
  seq: number
  ms: number
  data: unknown
}

/**
 * Turns an entry of the external events of `kind` (fields `s` sequence, `m` time in ms, `d` JSON
 * data, as the publish script writes them) into its parts, or returns `undefined` after reporting
 * it to `onCorrupt` (an entry written by hand: a field missing or malformed).
 */
export function decodeExternal(kind: string, id: string, fields: readonly string[], onCorrupt: CorruptHandler): ExternalEntry | undefined {
  let s: string | undefined
  let m: string | undefined
  let d: string | undefined
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] === 's') s = fields[i + 1]
    else if (fields[i] === 'm') m = fields[i + 1]
    else if (fields[i] === 'd') d = fields[i + 1]
  }
  const seq = Number(s)
  const ms = Number(m)
  const bad = (reason: string) => corruptExternal(onCorrupt, kind, id, reason)
  if (s === undefined || !/^[1-9]\d{0,15}$/.test(s) || !Number.isSafeInteger(seq)) return bad('no sequence number ("s" field)')
  if (m === undefined || !/^\d{1,15}$/.test(m)) return bad('no time ("m" field)')
  if (d === undefined) return { seq, ms, data: null }
  if (tooDeep(d)) return bad(`the data ("d" field) nests more than ${MAX_ENTRY_DEPTH} levels deep`)
  try {
    return { seq, ms, data: JSON.parse(d) }
  } catch {
    return bad('the data ("d" field) is not valid JSON')
  }
}

/** Reports an entry of the external events of `kind` that a match skips (see {@link decodeExternal}). */
export function corruptExternal(onCorrupt: CorruptHandler, kind: string, id: string, reason: string): undefined {
  return corrupt(onCorrupt, '', id, reason, kind)
}

/**
 * The deepest entry a reader takes: well past a value of `MAX_JSON_DEPTH` in its event (and what
 * an append may hold), well short of what overflows a reader's stack (about 5,000 levels).
 */
const MAX_ENTRY_DEPTH = 4 * MAX_JSON_DEPTH

/** JSON text nesting deeper than {@link MAX_ENTRY_DEPTH} (only texts long enough to are scanned). */
function tooDeep(json: string): boolean {
  return json.length > 2 * MAX_ENTRY_DEPTH && jsonTextDepth(json) > MAX_ENTRY_DEPTH
}
