import { hostname } from 'node:os'
import { invalidArgument, type JobQueue, LeanflowError, shown } from '@leanflow/core'
import type { RunnerOptions } from './types.js'

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
  throw new LeanflowError('INVALID_ARGUMENT', `Invalid workerId ${shown(value)}: pass a non-empty string of at most 200 characters.`)
}

/** A function option of `createRunner` (`onError`, `clock`), checked: a function or nothing. */
export function functionOption<F>(value: F | undefined, what: string): F | undefined {
  if (value === undefined || typeof value === 'function') return value
  throw invalidArgument(`createRunner ${what}`, value, 'a function (or leave it out)')
}

/** An entry of `createRunner({ flows })` at `index`, checked: a flow as `defineFlow` returns it, else `INVALID_ARGUMENT`. */
export function assertFlow(flow: unknown, index: number): void {
  const f = flow as { name?: unknown; steps?: unknown } | null
  if (typeof f === 'object' && f !== null && typeof f.name === 'string' && typeof f.steps === 'object' && f.steps !== null) return
  throw new LeanflowError(
    'INVALID_ARGUMENT',
    `createRunner flows[${index}] is not a flow ${shown(flow)}: pass defineFlow({ name, steps }) results, createRunner({ store, flows: [order] }).`,
  )
}

/** The `queue` option of `createRunner`, checked: a {@link JobQueue} or nothing (the memory queue). */
export function assertQueue(queue: unknown): void {
  const q = queue as Partial<Record<keyof JobQueue, unknown>> | null | undefined
  if (q == null || (['enqueue', 'remove', 'process', 'close'] as const).every((m) => typeof q[m] === 'function')) return
  throw new LeanflowError(
    'INVALID_ARGUMENT',
    'createRunner queue must be a JobQueue (enqueue, remove, process, close): pass createMemoryQueue() or createBullMQQueue(), or leave it out.',
  )
}

/** The longest delay one timer holds (2^31 - 1 ms, 24.8 days): Node fires a longer one after 1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1

/**
 * A timer option: a whole number of ms from `min` (1) that one timer holds, else `INVALID_ARGUMENT`
 * naming it and the whole range (`why` says where a `min` above 1 comes from).
 */
export function timerMs(value: unknown, what: string, min = 1, why = ''): number {
  if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= MAX_TIMER_MS) return value
  throw invalidArgument(what, value, `a whole number of ms from ${min} to ${MAX_TIMER_MS} (24.8 days)${why}`)
}

/** Every option of {@link createRunner}: another (a misspelt `concurrancy`) is refused. */
export const RUNNER_KEYS = [
  'store',
  'queue',
  'flows',
  'concurrency',
  'onError',
  'cancelPollMs',
  'drainTimeoutMs',
  'workerId',
  'clock',
  'slotLeaseMs',
  'maxPendingAwaits',
] satisfies Array<keyof RunnerOptions>
