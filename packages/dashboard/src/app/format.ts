// Small formatting helpers shared by the views.

/** `1.2 s`, `340 ms`, `2 min 3 s`. */
export function formatDuration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return ''
  if (ms < 1000) return `${Math.round(ms)} ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`
  const m = Math.floor(ms / 60_000)
  return `${m} min ${Math.round((ms % 60_000) / 1000)} s`
}

/** A local date and time, to the second. */
export function formatTime(iso: string | undefined): string {
  if (!iso) return ''
  const d = new Date(iso)
  return Number.isNaN(d.getTime()) ? iso : dateTime().format(d)
}

let formatter: Intl.DateTimeFormat | undefined

/** One formatter for every time shown: `toLocaleString` made a new one per call (about 0.25 ms, per row of thousands). */
function dateTime(): Intl.DateTimeFormat {
  formatter ??= new Intl.DateTimeFormat(undefined, {
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: '2-digit',
    second: '2-digit',
    hour12: false,
  })
  return formatter
}

/** JSON for display (2-space indent); `undefined` as empty. */
export function json(value: unknown): string {
  if (value === undefined) return ''
  try {
    return JSON.stringify(value, null, 2)
  } catch {
    return String(value)
  }
}

/** A short form of a run id for tables. */
export const shortId = (id: string) => (id.length > 12 ? `${id.slice(0, 10)}…` : id)

export const RUN_STATUSES = ['queued', 'running', 'awaiting', 'completed', 'failed', 'canceled'] as const
