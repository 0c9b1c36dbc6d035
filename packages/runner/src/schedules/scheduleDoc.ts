import { assertKnownKeys, assertName, LeanflowError, MAX_SCHEDULE_BYTES } from '@leanflow/core'
import type { ScheduleDefinition, ScheduleInfo } from '../scheduleTypes.js'
import { toJson } from '../shell/json.js'
import { assertTimeZone, type Cadence, cronCadence, cronKey, everyCadence, everyMs, invalidField, zoneOf } from './cadence.js'

/** A schedule as the store keeps it (`nextRunAt` lives beside it, in the store's due index). */
export interface ScheduleDoc {
  id: string
  flow: string
  cron?: string
  tz: string
  /** `every` as given (a duration string or ms). */
  every?: string | number
  /** The run's input (absent when `inputFn`). */
  input?: unknown
  /** The input is a function of the tick, held by the runners that define the schedule in code. */
  inputFn?: true
  overlap: 'allow' | 'skip' | 'cancel'
  catchUp: 'latest' | 'none' | 'all'
  source: 'code' | 'stored'
  paused: boolean
  /** The last tick handled: fired (with its run) or skipped. */
  lastRun?: { tick: number; runId?: string; skipped?: true }
}

/** A definition's options; a stored one also takes `flow`, and what `list()` shows besides (so a listed schedule sets again as listed). */
const DEFINITION_KEYS = ['id', 'cron', 'tz', 'every', 'input', 'overlap', 'catchUp']
const STORED_KEYS = [...DEFINITION_KEYS, 'flow', 'source', 'paused', 'nextRunAt', 'lastRun']
const OVERLAP = ['allow', 'skip', 'cancel'] as const
const CATCH_UP = ['latest', 'none', 'all'] as const

/**
 * A schedule's definition checked and turned into its stored document (unpaused, no last run):
 * `INVALID_NAME` for a bad id, `INVALID_ARGUMENT` naming the field for the rest — before anything
 * is stored, an unknown option included. `source: 'stored'` refuses a function input (it could not
 * be stored), and takes what `list()` shows besides a definition (`paused`, `nextRunAt`, … are the
 * store's: not set here).
 */
export function scheduleDocOf(def: ScheduleDefinition, flow: string, source: 'code' | 'stored'): ScheduleDoc {
  if (typeof def !== 'object' || def === null)
    throw new LeanflowError('INVALID_ARGUMENT', 'A schedule must be an object { id, cron | every, … }.')
  const id = assertName(def.id, 'schedule id')
  // a misspelt option (timezone, catchup) would otherwise be ignored: a schedule in UTC, or catching up otherwise
  assertKnownKeys(def, source === 'stored' ? STORED_KEYS : DEFINITION_KEYS, `Schedule "${id}"`)
  const field = (name: string, value: unknown, fix: string) => invalidField(id, name, value, fix)
  if ((def.cron === undefined) === (def.every === undefined))
    throw field('cron / every', def.cron ?? def.every, 'pass exactly one of cron and every')
  const overlap = def.overlap ?? 'allow'
  if (!OVERLAP.includes(overlap)) throw field('overlap', overlap, "pass 'allow', 'skip' or 'cancel'")
  const catchUp = def.catchUp ?? 'latest'
  if (!CATCH_UP.includes(catchUp)) throw field('catchUp', catchUp, "pass 'latest', 'none' or 'all'")
  const tz = assertTimeZone(id, def.tz ?? 'UTC')
  // UTC is what an every keeps to (the epoch's zone): `list()` shows it, and set takes it back (any spelling of it)
  if (def.every !== undefined && tz !== 'UTC')
    throw field('tz', def.tz, "a time zone applies to cron only (every is aligned to the epoch, in UTC): leave tz out, or pass 'UTC'")
  const doc: ScheduleDoc = { id, flow, tz, overlap, catchUp, source, paused: false }
  // its fields one space apart ('0  3 * * *\n' is '0 3 * * *'): one pattern, however spaced, is one schedule
  if (def.cron !== undefined) doc.cron = typeof def.cron === 'string' ? def.cron.trim().split(/\s+/).join(' ') : def.cron
  else doc.every = def.every as string | number
  // a fraction of a ms would be rounded: the ticks (and what list() shows) would not be the cadence
  // given. Checked where a schedule is given (a stored one of an older release still reads)
  if (typeof def.every === 'number' && !Number.isInteger(def.every))
    throw field('every', def.every, "pass whole milliseconds (at least 1000), or a duration string such as '15m'")
  cadenceOf(doc) // checks the cron or the every
  if (typeof def.input === 'function') {
    if (source === 'stored')
      throw field('input', 'a function', 'a stored schedule needs a value (define the schedule in code for a function of the tick)')
    doc.inputFn = true
  } else if (def.input !== undefined) doc.input = toJson(def.input, `input of schedule "${id}"`)
  // the stores keep a schedule in at most 64 KiB of JSON (its times and last run beside it):
  // refused here, where it is defined, not by the store part-way through a runner's start
  const bytes = new TextEncoder().encode(JSON.stringify(doc)).length
  if (bytes > MAX_DEFINED_BYTES)
    throw new LeanflowError(
      'INVALID_ARGUMENT',
      `Schedule "${id}" is ${bytes} bytes as JSON, over the ${MAX_DEFINED_BYTES}-byte limit of a schedule's definition (the store's 65536, less room for its times and last run): keep large inputs elsewhere and pass a reference.`,
    )
  return doc
}

/** Most bytes of a schedule's definition as JSON: the stores' 64 KiB, less 1 KiB for what they keep beside it. */
const MAX_DEFINED_BYTES = MAX_SCHEDULE_BYTES - 1024

/** The cadence of a stored document. */
export function cadenceOf(doc: ScheduleDoc): Cadence {
  return doc.cron !== undefined ? cronCadence(doc.id, doc.cron, doc.tz) : everyCadence(doc.id, doc.every)
}

/** True when two documents tick alike (same cron and zone, or same every: however spelled). */
export function sameCadence(a: ScheduleDoc, b: ScheduleDoc): boolean {
  return (
    (a.cron === b.cron || cronKey(a.cron) === cronKey(b.cron)) &&
    (a.tz === b.tz || zoneOf(a.tz) === zoneOf(b.tz)) &&
    (a.every === b.every || everyMs(a.every) === everyMs(b.every))
  )
}

/** What `list()` and the HTTP API show of a schedule. */
export function scheduleInfo(doc: ScheduleDoc, nextRunAt: number | null): ScheduleInfo {
  const info: ScheduleInfo = {
    id: doc.id,
    flow: doc.flow,
    tz: doc.tz,
    overlap: doc.overlap,
    catchUp: doc.catchUp,
    source: doc.source,
    paused: doc.paused,
    nextRunAt: nextRunAt === null ? null : new Date(nextRunAt).toISOString(),
  }
  if (doc.cron !== undefined) info.cron = doc.cron
  // ms as a duration string the API takes back ('1500ms'): a bare '1500' is no duration (set refuses it), and its unit unclear
  if (doc.every !== undefined) info.every = typeof doc.every === 'number' ? `${doc.every}ms` : doc.every
  // so `set(info)` keeps it (an in-code function of the tick has none to show)
  if (doc.input !== undefined) info.input = doc.input
  if (doc.lastRun) {
    const { tick, runId, skipped } = doc.lastRun
    info.lastRun = { tick: new Date(tick).toISOString(), ...(runId === undefined ? {} : { runId }), ...(skipped ? { skipped } : {}) }
  }
  return info
}
