import { hostname } from 'node:os'
import { invalidArgument, LeanflowError, positiveInteger } from '@leanflow/core'

/** The `priority` option of `startFlow`, checked: an integer in -100..100 (default 0). */
export function priorityOf(value: unknown): number {
  if (value === undefined) return 0
  if (Number.isInteger(value) && (value as number) >= -100 && (value as number) <= 100) return value as number
  throw invalidArgument('priority', value, 'an integer from -100 to 100 (higher is admitted first)')
}

/** The `workerId` option, checked, or `<hostname>:<pid>`. */
export function workerIdOf(value: unknown): string {
  if (value === undefined) return `${hostname()}:${process.pid}`
  if (typeof value === 'string' && value.length > 0 && value.length <= 200) return value
  throw new LeanflowError(
    'INVALID_ARGUMENT',
    `Invalid workerId ${JSON.stringify(value)}: pass a non-empty string of at most 200 characters.`,
  )
}

/** The longest delay one timer holds (2^31 - 1 ms, 24.8 days): Node fires a longer one after 1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1

/** A timer option: a whole number of ms above 0 that one timer holds, else `INVALID_ARGUMENT` naming it. */
export function timerMs(value: unknown, what: string): number {
  const ms = positiveInteger(value, what)
  if (ms > MAX_TIMER_MS) throw invalidArgument(what, value, `a whole number of ms from 1 to ${MAX_TIMER_MS} (24.8 days)`)
  return ms
}
