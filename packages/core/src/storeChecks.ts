// The refusals every store makes the same way, for the built-in stores and for custom ones: a
// `follow` signal, the arguments of `casRunState`, a document that JSON cannot hold.
import { LeanflowError } from './errors.js'
import { LONE_SURROGATE } from './idempotencyKey.js'
import { invalidArgument, optionsObject } from './invalidArgument.js'
import { assertName } from './names.js'
import type { CasRunStateOptions, LookupNamespace } from './runStateStore.js'

/**
 * `follow`'s `signal`: an `AbortSignal`, or `undefined` for none (`null` too); anything else
 * throws `INVALID_ARGUMENT` naming it, instead of a `TypeError` at the first `next()`.
 *
 * @example
 * ```ts
 * const signal = followSignal(opts.signal) // AbortSignal | undefined
 * followSignal(5) // LeanflowError INVALID_ARGUMENT: Invalid follow signal 5: pass an AbortSignal …
 * ```
 */
export function followSignal(value: unknown): AbortSignal | undefined {
  if (value === undefined || value === null) return undefined
  const s = value as Partial<AbortSignal>
  if (typeof s.aborted === 'boolean' && typeof s.addEventListener === 'function' && typeof s.removeEventListener === 'function')
    return value as AbortSignal
  throw invalidArgument('follow signal', value, 'an AbortSignal (e.g. new AbortController().signal) or leave it out')
}

/**
 * The checks of a `casRunState(runId, expected, doc, options)` call before anything is read or
 * written: the run id's name (`INVALID_NAME`), a version that is a whole number ≥ 0 and an
 * options object (`INVALID_ARGUMENT`). Returns the options (`{}` for none).
 *
 * @example
 * ```ts
 * async casRunState(runId, expected, doc, options) {
 *   const opts = casRunStateOptions(runId, expected, options)
 *   const json = opts.json ?? runStateJson(runId, doc)
 *   // … compare and set
 * }
 * ```
 */
export function casRunStateOptions(runId: string, expected: unknown, options: CasRunStateOptions | undefined): CasRunStateOptions {
  assertName(runId, 'run id')
  if (typeof expected !== 'number' || !Number.isInteger(expected) || expected < 0)
    throw invalidArgument(`casRunState version of run "${runId}"`, expected, 'the version read (a whole number), or 0 for a new document')
  const o = optionsObject(options, 'casRunState options', '{ finished?, fences?, json? }', CAS_KEYS)
  // a misspelt or mistyped option would keep a run's document for good, or store something else than `doc`
  if (o.finished !== undefined && typeof o.finished !== 'boolean')
    throw invalidArgument('casRunState finished', o.finished, 'true or false')
  if (o.json !== undefined && typeof o.json !== 'string')
    throw invalidArgument('casRunState json', o.json, 'JSON.stringify(doc), or leave it out')
  if (o.fences !== undefined && !isStringRecord(o.fences))
    throw invalidArgument('casRunState fences', o.fences, 'an object of fence name → token strings')
  return o
}

const CAS_KEYS = ['finished', 'fences', 'json']

/** Whether `value` is an object of strings (a run's fences: fence name → token). */
export function isStringRecord(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every((v) => typeof v === 'string')
}

/**
 * A document's JSON, or `INVALID_ARGUMENT` before anything is written: `subject` names it for a
 * value JSON cannot hold (a cycle, a BigInt), `what` for a value with no JSON at all (`undefined`,
 * a function).
 *
 * @example
 * ```ts
 * documentJson({ a: 1 }, 'Schedule "nightly"', 'document of schedule "nightly"') // '{"a":1}'
 * documentJson(undefined, 'Schedule "nightly"', 'document of schedule "nightly"') // throws INVALID_ARGUMENT
 * ```
 */
export function documentJson(doc: unknown, subject: string, what: string): string {
  let json: string | undefined
  try {
    json = JSON.stringify(doc)
  } catch (cause) {
    throw new LeanflowError('INVALID_ARGUMENT', `${subject} cannot be stored as JSON (${String(cause)}): pass plain JSON.`, { cause })
  }
  if (json === undefined) throw invalidArgument(what, String(doc), 'a JSON value (an object)')
  return json
}

/**
 * The data of an external event (`publishExternal`) as JSON, `undefined` as `null`, or
 * `INVALID_ARGUMENT` naming the kind (a `BigInt`, a cycle, a function), as the built-in stores
 * refuse it before anything is stored.
 *
 * @example
 * ```ts
 * externalDataJson('payment.confirmed', { orderId: 'o-1' }) // '{"orderId":"o-1"}'
 * externalDataJson('payment.confirmed', undefined) // 'null'
 * ```
 */
export function externalDataJson(kind: string, data: unknown): string {
  return documentJson(data ?? null, `The data of external event "${kind}"`, `data of external event "${kind}"`)
}

/**
 * A run's document as JSON for `casRunState`, or `INVALID_ARGUMENT` naming the run.
 *
 * @example
 * ```ts
 * runStateJson('r1', { status: 'running' }) // '{"status":"running"}'
 * ```
 */
export function runStateJson(runId: string, doc: unknown): string {
  return documentJson(doc, `The state of run "${runId}"`, `state of run "${runId}"`)
}

/**
 * The checks of `readExternal(kind, afterSeq)` before anything is read: the kind's name
 * (`INVALID_NAME`) and a position that is a whole number ≥ 0 (`INVALID_ARGUMENT`: `NaN`, `-1` or
 * `1.5` would read a different list on each store). Every store makes them, so a bad call is
 * refused the same way everywhere.
 *
 * @example
 * ```ts
 * async readExternal(kind, afterSeq) {
 *   checkReadExternal(kind, afterSeq)
 *   return db.select(kind, afterSeq)
 * }
 * ```
 */
export function checkReadExternal(kind: unknown, afterSeq: unknown): void {
  assertName(kind, 'event kind')
  if (!(typeof afterSeq === 'number' && Number.isSafeInteger(afterSeq) && afterSeq >= 0))
    throw invalidArgument('readExternal position', afterSeq, 'a whole number >= 0 (0, or a position from externalPosition)')
}

/**
 * The checks of `watchKind(kind, runId)` and `unwatchKind(kind, runId)`: both names
 * (`INVALID_NAME`), before anything is written, on every store.
 *
 * @example
 * ```ts
 * async watchKind(kind, runId) {
 *   checkWatchKind(kind, runId)
 *   await db.insert(kind, runId)
 * }
 * ```
 */
export function checkWatchKind(kind: unknown, runId: unknown): void {
  assertName(kind, 'event kind')
  assertName(runId, 'run id')
}

const LOOKUP_NAMESPACES: readonly string[] = ['trigger', 'start']

/**
 * The checks of `putLookup`, `getLookup` and `retireLookup` before anything is read or written: a
 * namespace of {@link LookupNamespace} (a Redis key is built from it) and a key that is a
 * non-empty string of well-formed Unicode (a store keeping keys as UTF-8 would make two keys that
 * differ only in a lone surrogate one). `INVALID_ARGUMENT` naming the value otherwise.
 *
 * @example
 * ```ts
 * async getLookup(ns, key) {
 *   checkLookup(ns, key)
 *   return db.get(ns, key)
 * }
 * ```
 */
export function checkLookup(ns: unknown, key: unknown): void {
  if (typeof ns !== 'string' || !LOOKUP_NAMESPACES.includes(ns)) throw invalidArgument('lookup namespace', ns, "'trigger' or 'start'")
  if (typeof key !== 'string' || key === '' || LONE_SURROGATE.test(key))
    throw invalidArgument(`${ns} lookup key`, key, 'a non-empty string of well-formed Unicode (no lone surrogate)')
}
