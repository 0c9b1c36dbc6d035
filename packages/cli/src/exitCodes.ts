/**
 * What `leanflow` exits with. Scripts can rely on these numbers (docs/cli.md lists them).
 *
 * @example
 * ```ts
 * import { EXIT_CODES } from '@leanflow/cli'
 * if (code === EXIT_CODES.notFound) console.log('no such run')
 * ```
 */
export const EXIT_CODES = {
  /** Done; for `tail`, the run completed. */
  ok: 0,
  /** What was asked did not succeed: `tail` saw the run fail, a trigger was already resolved, Redis refused a write. */
  failed: 1,
  /** Bad usage: an unknown command or option, a missing argument, malformed JSON, an invalid name, no Redis URL. */
  usage: 2,
  /** The run, trigger, schedule or flow does not exist (or has expired). */
  notFound: 3,
  /** Redis could not be reached in time (`--timeout`). */
  unreachable: 4,
  /** `tail` saw the run canceled. */
  canceled: 5,
  /** Interrupted (Ctrl-C) while following a run. */
  interrupted: 130,
} as const

/** One of the values of {@link EXIT_CODES}. */
export type ExitCode = (typeof EXIT_CODES)[keyof typeof EXIT_CODES]
