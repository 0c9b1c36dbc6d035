// A page of a flow's runs (`GET /:flow/runs`), newest first, with a cursor that loses no run: the
// store pages by start time in ms (`before`, exclusive), and runs started in the millisecond a page
// ends in may not all fit on it.
import { NAME_PATTERN, type RunStatus, type RunSummary, STORE_DEFAULTS, type StreamStore } from '@leanflow/core'
import { queryParam } from './query.js'
import { invalidArgument } from './respond.js'

/** Where a page starts: runs started before `before` (ms, exclusive), less `skip`, the runs of the millisecond `before - 1` the pages before showed. */
interface Cursor {
  before: number
  skip: string[]
}

/** The most runs of one millisecond a cursor carries (a page reads `limit` + that many rows, at most 1,000). */
const MAX_SKIP = 900

/**
 * The `before` query parameter: a start time in ms (the runs started before it), or a page's
 * `next` (`<ms>~<runId>~…`: the runs of the millisecond before `<ms>` the pages before showed are
 * left out). 400 INVALID_ARGUMENT otherwise.
 */
function beforeParam(url: URL): Cursor | undefined {
  const raw = queryParam(url, 'before')
  if (raw === undefined) return undefined
  const [ms = '', ...skip] = raw.split('~')
  const before = /^\d{1,16}$/.test(ms) ? Number(ms) : Number.NaN
  if (!Number.isSafeInteger(before) || skip.length > MAX_SKIP || !skip.every((id) => NAME_PATTERN.test(id))) {
    throw invalidArgument(
      `Query parameter before=${JSON.stringify(raw.slice(0, 64))} is invalid: use a start time in ms (an integer), or the "next" of the page before.`,
    )
  }
  return { before, skip }
}

/**
 * One page of `flow`'s runs: at most `limit` (default 50), with `status` when given, at the
 * cursor of `url`'s `before`. `next`, present while more may follow, is the `before` of the next
 * page: it leaves out the runs of the page's last millisecond this page and the ones before it
 * showed, so runs started in one millisecond are neither lost nor shown twice (as long as the
 * store lists the runs of one millisecond in the same order at each call: the memory and Redis
 * stores do).
 */
export async function runsPage(
  store: StreamStore,
  flow: string,
  url: URL,
  limit: number = STORE_DEFAULTS.listLimit,
  status?: RunStatus,
): Promise<{ runs: RunSummary[]; next?: string }> {
  const cursor = beforeParam(url)
  const skip = new Set(cursor?.skip)
  const ask = Math.min(STORE_DEFAULTS.readLimit, limit + skip.size)
  const opts: { limit: number; before?: number; status?: RunStatus } = { limit: ask }
  if (cursor) opts.before = cursor.before
  if (status) opts.status = status
  const rows = await store.listRuns(flow, opts)
  const runs = rows.filter((r) => !skip.has(r.runId)).slice(0, limit)
  // fewer rows than asked: the store has no more
  const last = runs.at(-1)
  if (rows.length < ask || !last) return { runs }
  const ms = Date.parse(last.startedAt)
  const same = runs.filter((r) => Date.parse(r.startedAt) === ms).map((r) => r.runId)
  // a millisecond spanning pages keeps what the pages before showed of it
  const shown = cursor?.before === ms + 1 ? [...(cursor?.skip ?? []), ...same] : same
  if (shown.length > MAX_SKIP) return { runs, next: String(ms) }
  return { runs, next: [String(ms + 1), ...shown].join('~') }
}
