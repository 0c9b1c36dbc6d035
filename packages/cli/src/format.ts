import type { Colors } from './colors.js'

/** A duration in ms as people read it: `850ms`, `1.2s`, `3m 05s`, `2h 10m`, `3d 4h`. */
export function formatDuration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '-'
  if (ms < 1000) return `${Math.round(ms)}ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)}s`
  const s = Math.floor(ms / 1000)
  const pad = (n: number) => String(n).padStart(2, '0')
  if (s < 3600) return `${Math.floor(s / 60)}m ${pad(s % 60)}s`
  if (s < 86_400) return `${Math.floor(s / 3600)}h ${pad(Math.floor((s % 3600) / 60))}m`
  return `${Math.floor(s / 86_400)}d ${Math.floor((s % 86_400) / 3600)}h`
}

/** An ISO time as `2026-05-01 10:00:00.123` (UTC), or `-`. */
export function formatTime(iso: string | undefined): string {
  if (iso === undefined) return '-'
  return iso.replace('T', ' ').replace(/Z$/, '')
}

/** The clock part of an ISO time: `10:00:00.123`. */
export function clockOf(iso: string): string {
  return iso.slice(11, 23)
}

const NAMED_CONTROLS: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' }

/**
 * `s` with its control characters (C0, DEL, C1) written as escapes (`\n`, `\x1b`, `\x9b`), and
 * its bidirectional-text controls and line separators too (`\u202E`, `\u2028`, as the dashboard shows
 * them): text from a run's
 * log (an error message, a log line, a cancel reason) can neither send a terminal sequence, nor
 * break an event's one line or a table's row, nor reorder what follows it on the line
 * (`invoice\u202Efdp.exe` shown as `invoiceexe.pdf`).
 */
export function printable(s: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: these are what it escapes
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g, (ch) => {
    const code = ch.charCodeAt(0)
    if (code > 0xff) return `\\u${code.toString(16).toUpperCase().padStart(4, '0')}`
    return NAMED_CONTROLS[ch] ?? `\\x${code.toString(16).padStart(2, '0')}`
  })
}

/** A value as compact JSON (control characters escaped, see {@link printable}), cut to `max` characters with `…`. */
export function shortJson(value: unknown, max = 80): string {
  let s: string
  try {
    s = value === undefined ? '' : (JSON.stringify(value) ?? String(value))
  } catch {
    s = String(value)
  }
  s = printable(s)
  return s.length > max ? `${s.slice(0, max - 1)}…` : s
}

/** Visible width of a string (ANSI escapes do not count). */
function width(s: string): number {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escapes
  return s.replace(/\u001b\[[0-9;]*m/g, '').length
}

/** Left-aligned columns with a bold header row; cells may hold ANSI colors. */
export function table(head: string[], rows: string[][], c: Colors): string {
  const widths = head.map((h, i) => Math.max(width(h), ...rows.map((r) => width(r[i] ?? ''))))
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell + ' '.repeat((widths[i] ?? 0) - width(cell))))
      .join('  ')
      .trimEnd()
  return [c.bold(line(head)), ...rows.map(line)].join('\n')
}

/** A run or step status, colored by what it means. */
export function paintStatus(status: string, c: Colors): string {
  switch (status) {
    case 'completed':
      return c.green(status)
    case 'failed':
      return c.red(status)
    case 'canceled':
      return c.magenta(status)
    case 'running':
      return c.blue(status)
    case 'awaiting':
      return c.cyan(status)
    case 'retrying':
      return c.yellow(status)
    default:
      return c.gray(status)
  }
}
