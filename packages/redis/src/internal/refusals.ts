import { LeanflowError, runTooLong } from '@leanflow/core'

/** The stream's last id, set by an entry written around leanflow, leaves no id that is a date (`{-4, id}`). */
export function noIdLeft(key: string, runId: string, id: unknown, cause?: unknown): LeanflowError {
  const at = typeof id === 'string' ? `it would be "${id}", ` : 'it has none left, '
  return new LeanflowError(
    'RUN_TOO_LONG',
    `Run "${runId}" can take no more events: its stream's next id is no time (${at}after an entry written around leanflow with an explicit id, e.g. XADD ${key} 99999999999999999-0 …). Nothing was written. Delete that entry (XDEL) and set the stream's last id back to its newest event (XSETID ${key} <that id>), or continue in a new run.`,
    cause === undefined ? undefined : { cause },
  )
}

/**
 * `err` as it is, or, when it is Redis refusing an XADD to a stream that used the largest id (an
 * entry written by hand), the typed {@link noIdLeft} error with `err` as its cause.
 */
export function noIdError(key: string, runId: string, err: unknown): unknown {
  if (!(err instanceof Error) || !err.message.includes('exhausted the last possible ID')) return err
  return noIdLeft(key, runId, undefined, err)
}

/** The run already holds its most events (`{-1, len}`); `batch`: the size of a refused `appendMany`. */
export function tooLong(runId: string, len: unknown, max: number, batch?: number): LeanflowError {
  return runTooLong(runId, Number(len), max, batch)
}
