// GET /runs/:runId/children: the child runs a run invoked (`ctx.invoke`), from its
// `step.await.run` events, each with its summary reduced from its own log.
import { assertName, type EventRecord, type RunSummary, readLog, reduceFlow, type StreamStore } from '@leanflow/core'
import { queryParam } from './query.js'
import { invalidArgument } from './respond.js'

/** One page of children: `next`, when more follow, is the `after` of the next page. */
export interface ChildrenPage {
  children: RunSummary[]
  next?: string
}

/** The children of a run, in the order it invoked them (each once, however often announced). */
export function childRunIds(events: readonly EventRecord[]): string[] {
  const ids = new Set<string>()
  for (const e of events) {
    const id = e.kind === 'step.await.run' ? (e.data as { childRunId?: unknown } | null)?.childRunId : undefined
    if (typeof id === 'string') ids.add(id)
  }
  return [...ids]
}

/**
 * The page of `events`' children after the child `?after=` (from the first without it), at most
 * `limit`. A child that has not started yet (its `flow.started` follows the parent's
 * `step.await.run`) or that retention removed is left out of the page, which still counts it.
 */
export async function childrenPage(
  store: StreamStore,
  runId: string,
  events: readonly EventRecord[],
  url: URL,
  limit: number,
): Promise<ChildrenPage> {
  const ids = childRunIds(events)
  const raw = queryParam(url, 'after')
  let from = 0
  if (raw !== undefined) {
    const after = assertName(raw, 'run id')
    from = ids.indexOf(after) + 1
    if (from === 0)
      throw invalidArgument(`Query parameter after=${JSON.stringify(after)} is no child of run "${runId}": use a runId of a page before.`)
  }
  const page = ids.slice(from, from + limit)
  const summaries = await Promise.all(page.map((id) => childSummary(store, id)))
  const out: ChildrenPage = { children: summaries.filter((s): s is RunSummary => s !== undefined) }
  if (from + limit < ids.length) out.next = page[page.length - 1]
  return out
}

/** A run's summary from its log, as `listRuns` gives it; undefined before its `flow.started`. */
async function childSummary(store: StreamStore, runId: string): Promise<RunSummary | undefined> {
  const state = reduceFlow(await readLog(store, runId))
  if (state.startedAt === undefined) return undefined
  const s: RunSummary = { runId, flow: state.name ?? '', status: state.status, startedAt: state.startedAt }
  if (state.completedAt !== undefined) s.completedAt = state.completedAt
  if (state.parent !== undefined) s.parent = { ...state.parent }
  if (state.version !== undefined) s.version = state.version
  if (state.children !== undefined) s.children = state.children
  return s
}
