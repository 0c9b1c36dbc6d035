import { InvalidEventError, LeanflowError, PayloadTooLargeError } from './errors.js'
import type { EventMeta, NewEvent } from './events.js'
import { idempotencyKey as checkedKey, isIdempotencyKey, MAX_IDEMPOTENCY_KEY_LENGTH } from './idempotencyKey.js'
import { invalidArgument, optionsObject } from './invalidArgument.js'
import { assertKnownKeys } from './knownKeys.js'
import { assertFlowName, assertName } from './names.js'
import type { AppendManyOptions, AppendOptions, BatchAppend } from './streamStore.js'

/** What {@link validateAppend} returns: the append, checked, in the form a store writes it. */
export interface ValidatedAppend {
  /**
   * The event's JSON, `{"kind","flow","step"?,"data","meta"?}` in that order: `flow` is the run
   * id (whatever the event said), absent `data` is `null`; at most `maxEventBytes` UTF-8 bytes.
   * A store keeps it as is (Redis), or puts `"id"` and `"ts"` in front (the memory store).
   */
  json: string
  /** The flow a `flow.started` event starts (a valid name, not a reserved one); `undefined` for other kinds. */
  flowName: string | undefined
  /** `data.version` of a `flow.started` event when it is a positive integer (the run's flow version); else `undefined`. */
  flowVersion: number | undefined
  /** The append's idempotency key (1-512 characters), or `undefined` without one. */
  idempotencyKey: string | undefined
}

/** The limits of {@link validateAppend}. */
export interface AppendLimits {
  /** Largest event JSON, in UTF-8 bytes (`STORE_DEFAULTS.maxEventBytes` by default in both stores). */
  maxEventBytes: number
  /**
   * Counts the UTF-8 bytes of a JSON text; called only for a text longer than a third of the
   * limit. Pass a faster one where the platform has it (`Buffer.byteLength` on Node).
   * @default TextEncoder's count
   */
  byteLength?: ((text: string) => number) | undefined
}

/**
 * Checks an append the way every store must, before anything is written, and serializes the
 * event once (pure: no I/O, one `JSON.stringify`). Both built-in stores call it first; a custom
 * store calls it too, so it refuses exactly what they refuse, with the same codes:
 *
 * - run id, `kind`, `step`, and the flow name of `flow.started` (`data.name`, also not `runs`,
 *   `triggers`, `events` or `schedules`): `INVALID_NAME` ({@link assertName}, {@link assertFlowName});
 * - an event that is not an object, `meta` that is not a plain object, `data` JSON cannot hold
 *   (cyclic, a `BigInt`, a function, nesting too deep): `INVALID_EVENT`;
 * - options that are not an object (`null`, a string), an idempotency key that is not a string
 *   of 1-512 characters, an `after` that is no idempotency key and a `fence` that is no
 *   `{ key, token }` of strings (see {@link appendManyOptions}): `INVALID_ARGUMENT`;
 * - JSON over `maxEventBytes`: `PAYLOAD_TOO_LARGE`.
 *
 * It checks the event, not the store: a repeated idempotency key, whether `fence` holds and
 * whether `after` is stored are the store's to check atomically with its write.
 *
 * @example
 * ```ts
 * const { json, flowName, idempotencyKey } = validateAppend(runId, event, opts, { maxEventBytes: 1024 * 1024 })
 * await db.insert({ runId, json, idempotencyKey })
 * ```
 */
export function validateAppend(runId: string, event: NewEvent, opts: AppendOptions | undefined, limits: AppendLimits): ValidatedAppend {
  assertName(runId, 'run id')
  // a misspelt key (`idempotencyKe`) would store the event without the idempotency it asked for
  optionsObject(opts, 'append options', '{ idempotencyKey?, fence?, after? }', APPEND_KEYS)
  if (typeof event !== 'object' || event === null || Array.isArray(event)) {
    throw new InvalidEventError(
      `An event must be an object { kind, flow, data }, got ${Array.isArray(event) ? 'an array' : String(event)}.`,
    )
  }
  const { kind, step, meta } = event
  assertName(kind, 'event kind')
  if (step !== undefined) assertName(step, 'step name')
  if (meta !== undefined && !isPlainObject(meta)) {
    throw new InvalidEventError(
      `Event "${kind}": meta must be an object when present, got ${describe(meta)}: pass { attempt?, jobId?, … } or leave it out.`,
    )
  }
  if (meta !== undefined) checkMetaFields(kind, meta as EventMeta)
  const data = event.data === undefined ? null : event.data
  const flowName =
    kind === 'flow.started'
      ? assertFlowName(typeof data === 'object' && data !== null ? (data as { name?: unknown }).name : undefined)
      : undefined
  if (opts !== undefined) orderOptions(opts, 'append')
  const idempotencyKey = checkedKey(opts?.idempotencyKey, 'idempotency key')

  let json: string
  try {
    json = JSON.stringify({ kind, flow: runId, step, data, meta })
  } catch (cause) {
    throw new InvalidEventError(`Event "${kind}" cannot be stored as JSON (${String(cause)}): pass plain JSON data.`, { cause })
  }
  // JSON.stringify drops a `data` it cannot write (a function, a symbol, a toJSON() giving
  // undefined). Names need no escaping, so "data" comes at a known place: a cheap check.
  const at = 20 + kind.length + runId.length + (step === undefined ? 0 : 10 + step.length)
  if (!json.startsWith(',"data":', at)) {
    throw new InvalidEventError(`Event "${kind}": data ${describe(data)} is no JSON value: pass JSON data, or null for none.`)
  }
  // UTF-16 length ≤ UTF-8 bytes ≤ 3 × UTF-16 length: count bytes only near the limit.
  const max = limits?.maxEventBytes
  // a limit that is no number above 0 (NaN, left out) would skip the size check without a word
  if (!(typeof max === 'number' && max > 0)) throw invalidArgument('validateAppend limits.maxEventBytes', max, 'a number of bytes above 0')
  if (json.length * 3 > max) {
    const bytes = (limits.byteLength ?? utf8Length)(json)
    if (bytes > max) throw new PayloadTooLargeError(bytes, max)
  }
  const version = flowName === undefined ? undefined : (data as { version?: unknown }).version
  const flowVersion = typeof version === 'number' && Number.isSafeInteger(version) && version > 0 ? version : undefined
  return { json, flowName, flowVersion, idempotencyKey }
}

/**
 * The options of `appendMany`, checked as {@link validateAppend} checks `append`'s: an options
 * object (`{}` when left out) whose `after` is an idempotency key (a string of 1-512 characters)
 * and whose `fence` is `{ key, token }`, two strings, `key` not empty. So no value a store could
 * take for "none" (`''`, `null`) skips the check it asks for. `INVALID_ARGUMENT` naming the value
 * otherwise. A store calls it first in `appendMany`, before anything is read or written, as the
 * built-in stores do.
 *
 * @example
 * ```ts
 * async appendMany(runId, items, options) {
 *   const opts = appendManyOptions(options) // { fence?, after? }
 *   const checked = items.map((it) => validateAppend(runId, it.event, { idempotencyKey: it.idempotencyKey }, limits))
 *   // … check opts.fence and opts.after, and write, in one transaction
 * }
 * ```
 */
export function appendManyOptions(opts: AppendManyOptions | undefined): AppendManyOptions {
  return orderOptions(optionsObject(opts, 'appendMany options', '{ fence?, after? }', MANY_KEYS), 'appendMany')
}

/**
 * The items of an `appendMany`, each checked as {@link validateAppend} checks an append: an array
 * of `{ event, idempotencyKey? }` objects (`INVALID_ARGUMENT` naming the item's index otherwise:
 * `null`, a bare event, a misspelt key). Returns the checked appends, in order. A store calls it
 * after {@link appendManyOptions}, before anything is read or written, as the built-in stores do.
 *
 * @example
 * ```ts
 * const checked = validateBatch(runId, items, { maxEventBytes: 1024 * 1024 }) // ValidatedAppend[]
 * ```
 */
export function validateBatch(runId: string, items: readonly BatchAppend[], limits: AppendLimits): ValidatedAppend[] {
  if (!Array.isArray(items)) throw invalidArgument('appendMany items', items, 'an array of { event, idempotencyKey? }')
  const checked: ValidatedAppend[] = []
  // by index, not map(): a hole of a sparse array is an item too
  for (let i = 0; i < items.length; i++) {
    const it: unknown = items[i]
    if (typeof it !== 'object' || it === null || Array.isArray(it)) {
      const got = it === null ? 'null' : Array.isArray(it) ? 'an array' : it === undefined ? 'nothing' : typeof it
      throw new LeanflowError(
        'INVALID_ARGUMENT',
        `appendMany item ${i} must be an object { event, idempotencyKey? }, got ${got}: wrap each event as { event }.`,
      )
    }
    assertKnownKeys(it, BATCH_KEYS, `appendMany item ${i}`)
    const { event, idempotencyKey } = it as BatchAppend
    checked.push(validateAppend(runId, event, { idempotencyKey }, limits))
  }
  return checked
}

const BATCH_KEYS = ['event', 'idempotencyKey']
const APPEND_KEYS = ['idempotencyKey', 'fence', 'after']
const MANY_KEYS = ['fence', 'after']

/** Refuses an `after` that is no idempotency key and a `fence` that is no `{ key, token }` (`what`: the call). */
function orderOptions<T extends AppendManyOptions>(opts: T, what: string): T {
  const { after, fence } = opts
  if (after !== undefined && !isIdempotencyKey(after)) {
    throw invalidArgument(
      `${what} after`,
      after,
      `the idempotency key of an append that must be stored first (a string of 1-${MAX_IDEMPOTENCY_KEY_LENGTH} characters)`,
    )
  }
  if (fence !== undefined) {
    const f = fence as { key?: unknown; token?: unknown } | null
    if (typeof f !== 'object' || f === null || typeof f.key !== 'string' || f.key === '' || typeof f.token !== 'string')
      throw invalidArgument(`${what} fence`, fence, '{ key, token }: the fence name (not empty) and the token it must hold, both strings')
  }
  return opts
}

const utf8Length = (text: string): number => new TextEncoder().encode(text).length

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'object') {
    const name = (Object.getPrototypeOf(value) as { constructor?: { name?: unknown } } | null)?.constructor?.name
    return typeof name === 'string' && name !== '' && name !== 'Object' ? `a ${name}` : 'an object'
  }
  return `a ${typeof value}`
}

/** An object literal (or one without prototype): a Date, a Map or a class instance would be stored as something else. */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

/**
 * The typed fields of `meta` checked, as readers rely on them: `attempt` a whole number of 1 or
 * more, `jobId` and `traceparent` strings (the reducer shows an attempt as a number, a `#2`).
 */
function checkMetaFields(kind: string, meta: EventMeta): void {
  const { attempt, jobId, traceparent } = meta
  if (attempt !== undefined && !(Number.isSafeInteger(attempt) && attempt >= 1))
    throw new InvalidEventError(`Event "${kind}": meta.attempt must be a whole number of 1 or more, got ${describe(attempt)}.`)
  if (jobId !== undefined && typeof jobId !== 'string') throw notString(kind, 'jobId', jobId)
  if (traceparent !== undefined && typeof traceparent !== 'string') throw notString(kind, 'traceparent', traceparent)
}

function notString(kind: string, field: string, value: unknown): InvalidEventError {
  return new InvalidEventError(`Event "${kind}": meta.${field} must be a string when present, got ${describe(value)}.`)
}
