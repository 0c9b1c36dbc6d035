import type { Colors } from './colors.js'
import type { GlobalOptions, Session } from './session.js'

/** Where the CLI reads and writes: the process's streams in `leanflow`, buffers in tests. */
export interface CliIO {
  stdout: { write(chunk: string): unknown; isTTY?: boolean | undefined }
  stderr: { write(chunk: string): unknown; isTTY?: boolean | undefined }
  /** Read for a `-` JSON argument. */
  stdin: AsyncIterable<string | Uint8Array>
  env: Record<string, string | undefined>
  /** Aborts a `tail` (the binary aborts it on SIGINT and SIGTERM). */
  signal?: AbortSignal | undefined
}

/** What a command's action gets. */
export interface CommandContext {
  io: CliIO
  opts: GlobalOptions
  /** Colors for stdout. */
  c: Colors
  /** Colors for stderr. */
  ce: Colors
  /** The session, opened on first use. */
  session(): Session
  /** Prints a line to stdout. */
  print(line: string): void
  /** Prints one JSON document (one line) to stdout. */
  printJson(value: unknown): void
  /** Prints a note to stderr (never in the way of --json output). */
  note(line: string): void
}
