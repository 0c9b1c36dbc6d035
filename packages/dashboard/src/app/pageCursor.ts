// Paging a flow's runs with the API's `before` (a start time in ms, exclusive) without losing runs
// that started in the same millisecond as the last row of a page.

/** What the cursor needs of a run row. */
export interface PagedRow {
  runId: string
  startedAt: string
}

/**
 * Where a page starts: runs started before `before` (ms, exclusive), leaving out `skip`, the rows of
 * the pages before that started in the last millisecond they showed (`before` is that ms + 1, so the
 * runs that started in the same millisecond but did not fit on the previous page are not lost).
 */
export interface Cursor {
  before: number
  skip: string[]
}

/** The most rows the API gives in one page. */
const API_LIMIT = 1000

/** The cursor of the page after `rows` (newest first), read at `prev` (a millisecond spanning pages keeps every skip). */
export function nextCursor(rows: readonly PagedRow[], prev: Cursor | undefined): Cursor | undefined {
  const last = rows.at(-1)
  if (!last) return undefined
  const ms = Date.parse(last.startedAt)
  const same = rows.filter((r) => Date.parse(r.startedAt) === ms).map((r) => r.runId)
  return { before: ms + 1, skip: prev?.before === ms + 1 ? [...prev.skip, ...same] : same }
}

/** The API query of a page of `pageSize` at `cursor`: `skip` more rows than a page (they are dropped). */
export function pageQuery(cursor: Cursor | undefined, pageSize: number): { before?: number; limit: number } {
  if (!cursor) return { limit: pageSize }
  return { before: cursor.before, limit: Math.min(API_LIMIT, pageSize + cursor.skip.length) }
}

/** The page's rows out of the API's answer to {@link pageQuery}. */
export function pageRows<R extends PagedRow>(rows: readonly R[], cursor: Cursor | undefined, pageSize: number): R[] {
  if (!cursor) return rows.slice(0, pageSize)
  const skip = new Set(cursor.skip)
  return rows.filter((r) => !skip.has(r.runId)).slice(0, pageSize)
}
