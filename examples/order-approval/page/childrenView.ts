// Child runs on the page (`ctx.invoke`): in a parent's timeline, each step links the runs it
// invoked, from its `step.await.run` events, with each child's status from
// `GET /flows/runs/:runId/children`; a child's header links back to its parent (`state.parent`,
// from its `flow.started`'s `data.parent`).
import type { EventRecord, FlowState } from '@leanflow/core'
import { h } from './dom.js'

/** One child run, from the parent's `step.await.run` event. */
export interface ChildLink {
  childRunId: string
  flow: string
  /** The parent's step that invoked it. */
  step: string
}

/** The children of the watched run, by step in invoke order, and their statuses once known. */
export interface RunChildren {
  readonly byStep: Map<string, ChildLink[]>
  readonly status: Map<string, string>
}

/** Opens a run; `flow` lists that flow's runs (`undefined`: the run's own flow, once it is known). */
export type OpenRun = (flow: string | undefined, runId: string) => void

export function emptyChildren(): RunChildren {
  return { byStep: new Map(), status: new Map() }
}

/**
 * Folds one event of the watched run in: a `step.await.run` adds its child (once, however often
 * it is announced). True when the children's statuses may have changed: a child was invoked, or
 * a `step.resumed` of a child's await says one ended.
 */
export function addChildEvent(children: RunChildren, e: EventRecord): boolean {
  const d = (e.data ?? {}) as { childRunId?: unknown; flow?: unknown; awaitType?: unknown }
  if (e.kind === 'step.resumed') return d.awaitType === 'run'
  if (e.kind !== 'step.await.run' || typeof d.childRunId !== 'string' || e.step === undefined) return false
  const list = children.byStep.get(e.step) ?? []
  if (list.some((c) => c.childRunId === d.childRunId)) return false
  list.push({ childRunId: d.childRunId, flow: typeof d.flow === 'string' ? d.flow : 'run', step: e.step })
  children.byStep.set(e.step, list)
  return true
}

const FINAL = new Set(['completed', 'failed', 'canceled'])

/** True while a child's status is unknown or not final: worth asking the server again. */
export function childrenUnsettled(children: RunChildren): boolean {
  for (const list of children.byStep.values()) {
    for (const c of list) if (!FINAL.has(children.status.get(c.childRunId) ?? '')) return true
  }
  return false
}

/** A link to run `runId`: a click opens it in the page; the `#run=` href also opens it in a new tab. */
function runLink(
  runId: string,
  flow: string | undefined,
  open: OpenRun,
  attrs: Record<string, string>,
  ...label: Array<Node | string | null>
) {
  const a = h('a', { href: `#run=${encodeURIComponent(runId)}`, 'data-run': runId, ...attrs }, ...label)
  a.onclick = (e) => {
    e.preventDefault()
    open(flow, runId)
  }
  return a
}

/** The links to the child runs `step` invoked (nothing when none), each with its status when known. */
export function childLinks(children: RunChildren, step: string, open: OpenRun): Node[] {
  const list = children.byStep.get(step)
  if (!list?.length) return []
  const links = list.map((c) => {
    const status = children.status.get(c.childRunId)
    return runLink(
      c.childRunId,
      c.flow,
      open,
      { class: 'child-run', 'data-flow': c.flow, 'data-status': status ?? '', title: `child run ${c.childRunId} of flow ${c.flow}` },
      '↳ ',
      h('span', {}, c.flow),
      ' ',
      h('code', {}, c.childRunId.slice(0, 6)),
      status ? h('span', { class: 'badge', 'data-status': status }, status) : null,
    )
  })
  return [h('span', { class: 'children' }, ...links)]
}

/** Shows, on a child run, which run and step invoked it (`state.parent`), with a link back; hidden otherwise. */
export function renderParent(note: HTMLElement, s: FlowState, open: OpenRun): void {
  const parent = s.parent
  note.hidden = !parent
  const key = parent ? `${parent.runId}/${parent.step}` : ''
  if (note.dataset.parent === key) return
  note.dataset.parent = key
  if (!parent) {
    note.replaceChildren()
    return
  }
  const link = runLink(parent.runId, undefined, open, { class: 'parent-run', id: 'parent-link' }, h('code', {}, parent.runId.slice(0, 10)))
  note.replaceChildren('child run: invoked by step ', h('b', {}, parent.step), ' of run ', link)
}
