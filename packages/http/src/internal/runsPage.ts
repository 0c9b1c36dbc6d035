// A page of a flow's runs (`GET /:flow/runs`), newest first, with a cursor that loses no run: the
// store pages by start time in ms (`before`, exclusive), and runs started in the millisecond a page
// ends in may not all fit on it.
import { type RunStatus, type RunSummary, STORE_DEFAULTS, type StreamStore } from '@leanflow/core'
import { queryParam } from './query.js'
import { invalidArgument } from './respond.js'

/**
 * Where a page starts: runs started before `before` (ms, exclusive), less those of the millisecond
 * `before - 1` the pages before showed: the `shown` first of it, down to run id `last` (a store
 * lists the runs of one millisecond by run id, descending).
 */
interface Cursor {
  before: number
  shown: number
  last?: string
}

/**
 * The `before` query parameter: a start time in ms (the runs started before it), or a page's
 * `next` (`<ms>~<n>~<runId>`). 400 INVALID_ARGUMENT otherwise.
 */
function beforeParam(url: URL): Cursor | undefined {
  const raw = queryParam(url, 'before')
  if (raw === undefined) return undefined
  const m = /^(\d{1,16})(?:~(\d{1,4})~([A-Za-z0-9][A-Za-z0-9_.-]{0,127}))?$/.exec(raw)
  const before = Number(m?.[1])
  const shown = Number(m?.[2] ?? 0)
  if (!m || !Number.isSafeInteger(before) || shown > STORE_DEFAULTS.readLimit) {
    throw invalidArgument(
      `Query parameter before=${JSON.stringify(raw.slice(0, 64))} is invalid: use a start time in ms (an integer), or the "next" of the page before.`,
    )
  }
  return m[3] === undefined ? { before, shown } : { before, shown, last: m[3] }
}

/**
 * One page of `flow`'s runs: at most `limit` (default 50), with `status` when given, at the
 * cursor of `url`'s `before`. `next`, present while more may follow, is the `before` of the next
 * page: it names the page's last millisecond, how many of its runs this page and the ones before
 * showed, and the last of them, so the next page leaves out exactly those (a run that left the
 * list meanwhile, its status changed, takes no other's place): runs started in one millisecond
 * are neither lost nor shown twice. The store lists the runs of one millisecond by run id,
 * descending (the memory and Redis stores do). One store read holds at most 1,000 runs, those the
 * page leaves out included: a page after many runs of one millisecond holds fewer than `limit`
 * (its `next` goes on); 1,000 runs of one millisecond shown is 400 INVALID_ARGUMENT, never a
 * silent gap.
 */
export async function runsPage(
  store: StreamStore,
  flow: string,
  url: URL,
  limit: number = STORE_DEFAULTS.listLimit,
  status?: RunStatus,
): Promise<{ runs: RunSummary[]; next?: string }> {
  const cursor = beforeParam(url)
  const skip = cursor?.shown ?? 0
  // one store read holds the runs shown before of the page's first millisecond, then the page's
  const take = Math.min(limit, STORE_DEFAULTS.readLimit - skip)
  if (take < 1) {
    const ms = (cursor?.before ?? 1) - 1
    throw invalidArgument(
      `${skip} runs of flow "${flow}" started in one millisecond (${ms}) were shown, as many as one read of the store holds: the runs of that millisecond after them cannot be paged to. Page on with before=${ms} (the runs started before it).`,
    )
  }
  const opts: { limit: number; before?: number; status?: RunStatus } = { limit: skip + take }
  if (cursor) opts.before = cursor.before
  if (status) opts.status = status
  const rows = await store.listRuns(flow, opts)
  // the runs of the millisecond before `before` down to the last one shown were on the pages before
  const tied = cursor?.before === undefined ? Number.NaN : cursor.before - 1
  const last = cursor?.last
  const seen = (r: RunSummary) => last !== undefined && Date.parse(r.startedAt) === tied && r.runId >= last
  const fresh = rows.filter((r) => !seen(r))
  const runs = fresh.slice(0, take)
  const end = runs.at(-1)
  // the store has no more (fewer rows than asked), and the page holds all it gave: the last page.
  // Fewer rows than asked is no end while more fresh rows came than fit (runs shown before left
  // a status's list: the rows skipped for them are fewer than they were)
  if (!end || (rows.length < opts.limit && fresh.length <= take)) return { runs }
  const ms = Date.parse(end.startedAt)
  const same = runs.filter((r) => Date.parse(r.startedAt) === ms).length
  // a millisecond spanning pages counts what the pages before showed of it too
  const shown = ms === tied ? skip + same : same
  return { runs, next: `${ms + 1}~${shown}~${end.runId}` }
}
