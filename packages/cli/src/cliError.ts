import { isLeanflowError } from '@leanflow/core'
import { EXIT_CODES, type ExitCode } from './exitCodes.js'

/** An error of the CLI itself, with the exit code it means. */
export class CliError extends Error {
  readonly exitCode: ExitCode
  readonly code: string
  constructor(exitCode: ExitCode, code: string, message: string) {
    super(message)
    this.name = 'CliError'
    this.exitCode = exitCode
    this.code = code
  }
}

const BY_CODE: Record<string, ExitCode> = {
  INVALID_NAME: EXIT_CODES.usage,
  INVALID_ARGUMENT: EXIT_CODES.usage,
  INVALID_EVENT: EXIT_CODES.usage,
  PAYLOAD_TOO_LARGE: EXIT_CODES.usage,
  RUN_NOT_FOUND: EXIT_CODES.notFound,
  TRIGGER_NOT_FOUND: EXIT_CODES.notFound,
  SCHEDULE_NOT_FOUND: EXIT_CODES.notFound,
  FLOW_NOT_FOUND: EXIT_CODES.notFound,
  NOT_FOUND: EXIT_CODES.notFound,
  HISTORY_GONE: EXIT_CODES.notFound,
  STORE_UNAVAILABLE: EXIT_CODES.unreachable,
}

/** The exit code and the `{ code, message }` an error is printed as. */
export function describeError(err: unknown): { exitCode: ExitCode; code: string; message: string } {
  if (err instanceof CliError) return { exitCode: err.exitCode, code: err.code, message: err.message }
  if (isLeanflowError(err)) return { exitCode: BY_CODE[err.code] ?? EXIT_CODES.failed, code: err.code, message: err.message }
  const message = err instanceof Error ? err.message : String(err)
  return { exitCode: EXIT_CODES.failed, code: 'INTERNAL', message }
}

/** A URL with its password hidden, for messages (core's; a string that is no URL hides its user and password too). */
export { redactUrl } from '@leanflow/core'
