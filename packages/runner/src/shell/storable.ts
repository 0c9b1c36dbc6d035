import { isLeanflowError, jsonTextDepth, LeanflowError, MAX_JSON_DEPTH, PayloadTooLargeError, STORE_DEFAULTS } from '@leanflow/core'
import { type Execution, UnrecordableCall } from './execution.js'
import { bigIntAt } from './json.js'
import type { Shell } from './shell.js'

/**
 * Checks, before the runner changes any state, that what a step hands it fits in an event: the
 * step's document and its log change together, so a value the store would refuse once the
 * document says "completed" (or "retrying") would leave the two apart for good.
 */

/** The store's event limit (its `maxEventBytes`), else the default 1 MiB. */
export function eventLimit(shell: Shell): number {
  return shell.store.maxEventBytes ?? STORE_DEFAULTS.maxEventBytes
}

/** The longest error message a `step.failed` / `flow.failed` event carries, in characters. */
export const MAX_ERROR_CHARS = 16_384

/** An error message cut to {@link MAX_ERROR_CHARS}, saying how much was cut. */
export function storableError(message: string): string {
  if (message.length <= MAX_ERROR_CHARS) return message
  return `${message.slice(0, MAX_ERROR_CHARS)}… (${message.length - MAX_ERROR_CHARS} more characters)`
}

/**
 * Throws what the store would throw for the `step.completed` event of `result`: `INVALID_ARGUMENT`
 * when JSON cannot hold it (cyclic, a BigInt) or it nests deeper than `MAX_JSON_DEPTH` (every later
 * step's worker copies it, as a run's input), `PAYLOAD_TOO_LARGE` when the event would pass the
 * store's limit. The step then fails like any attempt, and nothing of the result is written.
 * Returns the result's JSON (undefined for no result), so the complete command need not make it again.
 */
export function assertStorableResult(shell: Shell, ex: Execution, jobId: string, result: unknown): string | undefined {
  if (result === undefined) return undefined
  const what = `result of step "${ex.step}"`
  let text: string | undefined
  try {
    text = JSON.stringify(result)
  } catch (err) {
    throw new LeanflowError(
      'INVALID_ARGUMENT',
      `The ${what} is not JSON-serializable (${(err as Error).message})${bigIntAt(result)}: return plain data.`,
    )
  }
  // a text this short cannot nest that deep: no scan on the common path
  if (text !== undefined && text.length > 2 * MAX_JSON_DEPTH && jsonTextDepth(text) > MAX_JSON_DEPTH)
    throw new LeanflowError(
      'INVALID_ARGUMENT',
      `The ${what} nests arrays and objects more than ${MAX_JSON_DEPTH} levels deep: return flatter data (every later step's worker copies it, and deeper copies overflow the stack).`,
    )
  const limit = eventLimit(shell)
  // a short text cannot pass the limit (at most 3 UTF-8 bytes per UTF-16 unit): no count needed
  if (text === undefined || text.length * 3 < limit - 4096) return text
  const meta = { attempt: ex.attempt, jobId, worker: shell.workerId }
  const envelope = JSON.stringify({
    kind: 'step.completed',
    flow: ex.runId,
    step: ex.step,
    data: { result: null, duration: Number.MAX_SAFE_INTEGER },
    meta,
  })
  const bytes = new TextEncoder().encode(text).length + envelope.length - 'null'.length
  if (bytes > limit) throw new PayloadTooLargeError(bytes, limit, what)
  return text
}

/**
 * Throws `PAYLOAD_TOO_LARGE` when `value` (JSON already: `toJson`'s output) cannot fit in an event
 * of the store with `overhead` bytes of envelope around it (an await's event, a child's
 * `flow.started`): checked before the await is recorded, so the handler's call throws instead.
 */
export function assertFits(shell: Shell, value: unknown, what: string, overhead = 4096): void {
  const limit = eventLimit(shell)
  const text = JSON.stringify(value) ?? 'null'
  if (text.length * 3 + overhead < limit) return
  const bytes = new TextEncoder().encode(text).length + overhead
  if (bytes > limit) throw new PayloadTooLargeError(bytes, limit, what)
}

/** A refusal that no new delivery of the job can change: the attempt fails with it instead of going back to the queue. */
export function isUnstorable(err: unknown): boolean {
  return isLeanflowError(err, 'PAYLOAD_TOO_LARGE') || isLeanflowError(err, 'RUN_TOO_LONG') || err instanceof UnrecordableCall
}
