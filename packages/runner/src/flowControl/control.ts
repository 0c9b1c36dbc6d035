import {
  assertKnownKeys,
  type Duration,
  InvalidNameError,
  isLeanflowError,
  isValidName,
  LeanflowError,
  type LimitNeed,
  parseDuration,
  shown,
} from '@leanflow/core'
import type { FlowControlConfig, LimitKey } from '../flowControlTypes.js'
import { errorMessage } from '../machine/errorMessage.js'

/** A flow's flow control, checked at `defineFlow` (durations in ms). */
export interface FlowControl {
  concurrency: Array<{ id: string; limit: number; key?: LimitKey }>
  rate?: { id: string; limit: number; periodMs: number; key?: LimitKey; drop: boolean }
  debounce?: { periodMs: number; maxWaitMs?: number; key?: LimitKey }
  singleton?: { key?: LimitKey; mode: 'skip' | 'cancel' }
  /** Step → its step-level concurrency. */
  steps: Record<string, { limit: number; key?: LimitKey }>
}

/** The run-level needs and keys of one start, computed from its input. */
export interface RunLimits {
  needs: LimitNeed[]
  drop: boolean
  singleton?: { key: string; mode: 'skip' | 'cancel' }
  debounce?: { key: string; periodMs: number; maxWaitMs?: number }
}

/**
 * Checks the flow-control options of flow `flow` (and its steps' `concurrency`): limits are positive
 * integers, periods positive durations, keys functions, modes known. `undefined` when the flow has none.
 */
export function flowControlOf(
  flow: string,
  config: FlowControlConfig,
  steps: Record<string, { concurrency?: unknown }>,
): FlowControl | undefined {
  const fc: FlowControl = { concurrency: [], steps: {} }
  const list = config.concurrency === undefined ? [] : Array.isArray(config.concurrency) ? config.concurrency : [config.concurrency]
  if (config.concurrency !== undefined && list.length === 0)
    throw bad(`Invalid concurrency [] of flow "${flow}": pass { limit, key? }, an array of them, or leave it out.`)
  list.forEach((c, i) => {
    const where = `concurrency${list.length > 1 ? `[${i}]` : ''} of flow "${flow}"`
    const limit = limitOf(c, where)
    known(c, ['limit', 'key'], where)
    fc.concurrency.push(withKey({ id: `concurrency.${i}`, limit }, c, where))
  })
  if (config.rateLimit !== undefined) {
    const r = config.rateLimit
    const where = `rateLimit of flow "${flow}"`
    if (typeof r !== 'object' || r === null) throw bad(`Invalid ${where}: pass { limit, period, key?, mode? }.`)
    known(r, ['limit', 'period', 'key', 'mode'], where)
    const mode = r.mode ?? 'queue'
    if (mode !== 'queue' && mode !== 'drop') throw bad(`Invalid mode ${shown(mode)} in ${where}: use 'queue' or 'drop'.`)
    fc.rate = withKey(
      { id: 'rateLimit', limit: limitOf(r, where), periodMs: periodOf(r.period, `period of ${where}`), drop: mode === 'drop' },
      r,
      where,
    )
  }
  if (config.debounce !== undefined) {
    const d = config.debounce
    const where = `debounce of flow "${flow}"`
    if (typeof d !== 'object' || d === null) throw bad(`Invalid ${where}: pass { period, maxWait?, key? }.`)
    known(d, ['period', 'maxWait', 'key'], where)
    const deb: NonNullable<FlowControl['debounce']> = withKey({ periodMs: periodOf(d.period, `period of ${where}`) }, d, where)
    if (d.maxWait !== undefined) deb.maxWaitMs = periodOf(d.maxWait, `maxWait of ${where}`)
    fc.debounce = deb
  }
  if (config.singleton !== undefined) {
    const s = config.singleton
    const where = `singleton of flow "${flow}"`
    if (config.debounce !== undefined) {
      throw bad(
        `Flow "${flow}" has both debounce and singleton: debounce already folds the calls of one key into one run; keep one of them.`,
      )
    }
    if (typeof s !== 'object' || s === null) throw bad(`Invalid ${where}: pass { key?, mode? }.`)
    known(s, ['key', 'mode'], where)
    const mode = s.mode ?? 'skip'
    if (mode !== 'skip' && mode !== 'cancel') throw bad(`Invalid mode ${shown(mode)} in ${where}: use 'skip' or 'cancel'.`)
    fc.singleton = withKey({ mode }, s, where)
  }
  for (const [name, def] of Object.entries(steps)) {
    if (def.concurrency === undefined) continue
    const where = `concurrency of step "${name}" of flow "${flow}"`
    const c = def.concurrency as { limit: number; key?: LimitKey }
    const limit = limitOf(c, where)
    known(c, ['limit', 'key'], where)
    fc.steps[name] = withKey({ limit }, c, where)
  }
  const none = fc.concurrency.length === 0 && !fc.rate && !fc.debounce && !fc.singleton && Object.keys(fc.steps).length === 0
  return none ? undefined : fc
}

/** The run-level needs of a start with `input`: every key function called (a throw or a bad name rejects the start). */
export function runLimitsOf(flow: string, fc: FlowControl, input: unknown): RunLimits {
  const needs: LimitNeed[] = fc.concurrency.map((c, i) => ({
    id: c.id,
    kind: 'concurrency',
    key: keyOf(c.key, input, flow, fc.concurrency.length > 1 ? `concurrency[${i}]` : 'concurrency'),
    limit: c.limit,
  }))
  if (fc.rate) {
    const r = fc.rate
    needs.push({ id: r.id, kind: 'rate', key: keyOf(r.key, input, flow, 'rateLimit'), limit: r.limit, periodMs: r.periodMs })
  }
  const out: RunLimits = { needs, drop: fc.rate?.drop === true }
  if (fc.singleton) out.singleton = { key: keyOf(fc.singleton.key, input, flow, 'singleton'), mode: fc.singleton.mode }
  if (fc.debounce) {
    const d = fc.debounce
    out.debounce = { key: keyOf(d.key, input, flow, 'debounce'), periodMs: d.periodMs }
    if (d.maxWaitMs !== undefined) out.debounce.maxWaitMs = d.maxWaitMs
  }
  return out
}

/**
 * Asks the key function of every step-level limit of the flow for `input`, as a start does a
 * flow-level one's: a throw rejects with `INVALID_ARGUMENT`, a bad name with `INVALID_NAME`, before
 * the run is written (not first when the step runs).
 *
 * @example
 * assertStepKeys('sync', shell.controls.get('sync'), input) // throws for an input no key function can name
 */
export function assertStepKeys(flow: string, fc: FlowControl | undefined, input: unknown): void {
  if (!fc) return
  for (const [step, c] of Object.entries(fc.steps)) if (c.key) keyOf(c.key, input, flow, `concurrency of step "${step}"`)
}

/** The step-level need of step `step` for a run with `input`, or undefined when the step has no limit. */
export function stepNeedOf(flow: string, fc: FlowControl | undefined, step: string, input: unknown): LimitNeed | undefined {
  const c = fc?.steps[step]
  if (!c) return undefined
  return { id: 'concurrency', kind: 'concurrency', key: keyOf(c.key, input, flow, `concurrency of step "${step}"`), limit: c.limit }
}

/**
 * The key function's name for `input` (`''` without one). Its throw is `INVALID_ARGUMENT` (the
 * input is one it cannot read: a 400 over HTTP, not a 500), with the error as `cause`; a
 * LeanflowError it throws stays as is. A bad name is `INVALID_NAME`.
 */
function keyOf(fn: LimitKey | undefined, input: unknown, flow: string, what: string): string {
  if (fn === undefined) return ''
  let key: unknown
  try {
    key = fn(input)
  } catch (err) {
    if (isLeanflowError(err)) throw err
    const why = errorMessage(err)
    throw new LeanflowError(
      'INVALID_ARGUMENT',
      `The key function of ${what} of flow "${flow}" threw on this input (${why}): send an input it can read, or make the key function handle this one. Nothing was started.`,
      { cause: err },
    )
  }
  if (typeof key === 'string' && isValidName(key)) return key
  const given = typeof key === 'string' ? JSON.stringify(key.length > 64 ? `${key.slice(0, 64)}…` : key) : errorMessage(key)
  throw new InvalidNameError(
    `The key function of ${what} of flow "${flow}" returned ${given}: return a name (1-128 characters from A-Z a-z 0-9 _ . -, starting with a letter or digit). Nothing was started.`,
  )
}

/** A limit: a whole number from 1 to `Number.MAX_SAFE_INTEGER`; a bad one named as given, with the fix that applies to it. */
function limitOf(c: unknown, where: string): number {
  // a bare number (`concurrency: 5`) is no options object: said so, not "Invalid limit undefined"
  if (typeof c !== 'object' || c === null) throw bad(`Invalid ${where}: ${shown(c)}: pass an object, { limit: 5 }.`)
  const limit = (c as { limit?: unknown }).limit
  if (!Number.isSafeInteger(limit) || (limit as number) < 1) {
    const given = shown(limit)
    const fix =
      Number.isInteger(limit) && (limit as number) >= 1
        ? `pass at most ${Number.MAX_SAFE_INTEGER} (Number.MAX_SAFE_INTEGER)`
        : 'pass a positive integer (at least 1)'
    throw bad(`Invalid limit ${given} in ${where}: ${fix}.`)
  }
  return limit as number
}

function periodOf(value: unknown, where: string): number {
  // a number at or below 0 is told the fix that applies to it (parseDuration allows 0)
  if (typeof value === 'number' && !(value > 0))
    throw bad(`Invalid ${where} ${shown(value)}: pass a positive duration ('5s', '1m' or ms above 0).`)
  const ms = parseDuration(value as Duration, where)
  if (!(ms > 0)) throw bad(`Invalid ${where} ${shown(value)}: pass a positive duration ('5s', '1m' or ms).`)
  return ms
}

function withKey<T extends object>(out: T, src: unknown, where: string): T & { key?: LimitKey } {
  const key = (src as { key?: unknown }).key
  if (key === undefined) return out
  if (typeof key !== 'function') throw bad(`Invalid key in ${where}: pass a function of the input that returns a name.`)
  return Object.assign(out, { key: key as LimitKey })
}

/** Refuses an option `src` does not have (a misspelt `key` made one limit for every input, a misspelt `mode` the default). */
function known(src: object, keys: readonly string[], where: string): void {
  assertKnownKeys(src, keys, `The ${where}`)
}

function bad(message: string): LeanflowError {
  return new LeanflowError('INVALID_ARGUMENT', message)
}
