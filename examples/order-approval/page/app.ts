// The demo page: flows, schedules, the listed flow's limits and runs on the left, the live view of
// one run on the right. The run view is driven by `watchRun` (SSE + the same reducer the server
// uses); a queued run shows why it waits from its reduced state (`state.queued`); a step that
// invoked child runs links them (its `step.await.run` events), and a child links its parent.

import type { FlowState } from '@leanflow/core'
import { watchRun } from '@leanflow/http/client'
import { api, type RunRow, type ScheduleRow } from './api.js'
import { addChildEvent, childrenUnsettled, emptyChildren, type RunChildren } from './childrenView.js'
import { $, fmtTime, h } from './dom.js'
import { renderLimits } from './limitsView.js'
import { pendingActions, renderRun } from './runView.js'
import { renderSchedules, type ScheduleActions, tickSchedules } from './schedulesView.js'

let flow = 'order'
let selected: string | undefined
let current: FlowState | undefined
let watch: { close(): void } | undefined
/** The child runs of the selected run (from its events) and their statuses. */
let children: RunChildren = emptyChildren()
/** Set by a link whose run's flow is not known yet (a parent): list that flow once its state says. */
let listRunFlow = false

function showError(err: unknown): void {
  console.error(err)
  $('run-meta').textContent = `error: ${err instanceof Error ? err.message : String(err)}`
}

/** The customers of the Start order menu: `customerId` is the key of the order flow's concurrency limit. */
const CUSTOMERS: Record<string, string> = { 'c-1': 'Ada Lovelace', 'c-2': 'Grace Hopper' }

async function refreshLists(): Promise<void> {
  const [{ flows }, { runs }, limits] = await Promise.all([api.flows(), api.runs(flow), api.limits(flow).catch(() => undefined)])
  renderLimits($('limits-box'), flow, limits)
  const known = flows.some((f) => f.flow === flow) ? flows : [{ flow, runs: runs.length }, ...flows]
  $('flows').replaceChildren(
    ...known.map((f) => {
      const li = h(
        'li',
        { class: f.flow === flow ? 'selected' : undefined },
        h('span', {}, f.flow),
        h('span', { class: 'muted' }, `${f.runs} run${f.runs === 1 ? '' : 's'}`),
      )
      li.onclick = () => {
        flow = f.flow
        void refreshLists()
      }
      return li
    }),
  )
  $('runs-flow').textContent = flow
  const live = (r: RunRow) => (r.runId === selected && current && current.status !== 'pending' ? current.status : r.status)
  $('runs').replaceChildren(
    ...runs.map((r) => {
      const li = h(
        'li',
        { class: r.runId === selected ? 'selected' : undefined, 'data-run': r.runId },
        h(
          'span',
          {},
          h('code', {}, r.runId.slice(0, 10)),
          ' ',
          h('span', { class: 'when' }, fmtTime(r.startedAt)),
          r.parent ? h('span', { class: 'rel', title: `invoked by run ${r.parent.runId}` }, ' · child') : null,
          r.children ? h('span', { class: 'rel' }, ` · ${r.children} child run${r.children === 1 ? '' : 's'}`) : null,
        ),
        h('span', { class: 'badge', 'data-status': live(r) }, live(r)),
      )
      li.onclick = () => select(r.runId)
      return li
    }),
  )
}

const scheduleActions: ScheduleActions = {
  toggle: (s) =>
    void (async () => {
      const { schedule } = s.paused ? await api.resumeSchedule(s.id) : await api.pauseSchedule(s.id)
      changes++
      showSchedules([schedule], true)
    })().catch(showError),
  trigger: (s) =>
    void (async () => {
      const { runId } = await api.triggerSchedule(s.id)
      openRun(s.flow, runId)
    })().catch(showError),
  open: (f, runId) => openRun(f, runId),
}

let schedules: ScheduleRow[] = []
/** Pauses and resumes answered: a list asked for before the last one is stale. */
let changes = 0

/** Shows the schedules; `merge` replaces only the ones given (the answer of a pause or resume). */
function showSchedules(list: ScheduleRow[], merge = false): void {
  schedules = merge ? schedules.map((s) => list.find((x) => x.id === s.id) ?? s) : list
  renderSchedules($('schedules'), schedules, scheduleActions, Date.now())
}

async function refreshSchedules(): Promise<void> {
  const asked = changes
  const { schedules: list } = await api.schedules()
  if (asked === changes) showSchedules(list)
}

/** Opens a run and lists the runs of its flow `f` (`undefined`: of the run's flow, once its state names it). */
function openRun(f: string | undefined, runId: string): void {
  if (f !== undefined) flow = f
  listRunFlow = f === undefined
  select(runId)
  void refreshLists().catch(showError)
}

/** Asks the server for the statuses of the selected run's children (`GET /flows/runs/:runId/children`). */
let asking: Promise<void> | undefined
function refreshChildren(): void {
  const runId = selected
  if (!runId || asking || children.byStep.size === 0) return
  const mine = children
  asking = api
    .children(runId)
    .then((list) => {
      if (mine !== children) return
      for (const c of list) mine.status.set(c.runId, c.status)
      render()
    })
    .catch((err: unknown) => console.warn('children', err))
    .finally(() => {
      asking = undefined
    })
}

function render(): void {
  if (!selected || !current) return
  renderRun(selected, current, Date.now(), children, openRun)
  // the run index keeps flow-level statuses; the selected run shows its live one
  const badge = $('runs').querySelector<HTMLElement>(`li[data-run="${CSS.escape(selected)}"] .badge`)
  if (badge && current.status !== 'pending') {
    badge.textContent = current.status
    badge.dataset.status = current.status
  }
}

function select(runId: string): void {
  if (runId === selected) return
  watch?.close()
  selected = runId
  current = undefined
  children = emptyChildren()
  history.replaceState(null, '', `#run=${encodeURIComponent(runId)}`)
  $('empty').hidden = true
  $('run-view').hidden = false
  for (const li of $('runs').querySelectorAll('li')) li.classList.toggle('selected', li.getAttribute('data-run') === runId)
  watch = watchRun(location.origin + api.streamUrl(runId), {
    onEvent: (e) => {
      // a run's status changes with flow.* events, and a queued run's with its first step.started (admitted)
      const admitted = e.kind === 'step.started' && runId === selected && current?.status === 'queued'
      if (e.kind.startsWith('flow.') || admitted) void refreshLists().catch(showError)
      // a child invoked or ended: its link's status
      if (runId === selected && addChildEvent(children, e)) refreshChildren()
    },
    onState: (s) => {
      if (runId !== selected) return
      current = s
      if (listRunFlow && s.name) {
        listRunFlow = false
        if (s.name !== flow) {
          flow = s.name
          void refreshLists().catch(showError)
        }
      }
      render()
    },
    onEnd: () => {
      void refreshLists().catch(showError)
      refreshChildren()
    },
    onError: (err) => console.warn('stream error', err),
  })
}

async function act(button: string, fn: () => Promise<unknown>): Promise<void> {
  const b = $(button) as HTMLButtonElement
  b.disabled = true
  try {
    await fn()
  } catch (err) {
    showError(err)
  }
}

$('start').onclick = () =>
  void act('start', async () => {
    const orderId = `o-${Math.random().toString(36).slice(2, 8)}`
    const customerId = ($('customer') as HTMLSelectElement).value
    flow = 'order' // the button starts an order whichever flow is listed
    // one invoice run per line (the order's `bill` step invokes them)
    const lines = [
      { sku: 'notebook', qty: 2, unitPrice: 12.5 },
      { sku: 'pen', qty: 5, unitPrice: 3.5 },
    ]
    const declineCard = ($('decline') as HTMLInputElement).checked
    const input = { orderId, customerId, customer: CUSTOMERS[customerId], amount: 42.5, items: ['notebook', 'pen'], lines, declineCard }
    const { runId } = await api.start(flow, input)
    await refreshLists()
    select(runId)
  }).finally(() => {
    ;($('start') as HTMLButtonElement).disabled = false
  })

$('pay').onclick = () =>
  void act('pay', async () => {
    const orderId = current && pendingActions(current).orderId
    if (orderId) await api.publish('payment.confirmed', { orderId })
  })

$('approve').onclick = () =>
  void act('approve', async () => {
    const triggerId = current && pendingActions(current).triggerId
    if (triggerId) await api.resolveTrigger(triggerId, { approved: true, by: 'demo page' })
  })

// a failed run again from the step it failed in: the steps before it are copied, not run; the card is fixed
$('rerun').onclick = () =>
  void act('rerun', async () => {
    const from = current && pendingActions(current).failedStep
    if (!selected || !current || from === undefined) return
    const input = { ...(current.input as Record<string, unknown>), declineCard: false }
    const { runId } = await api.rerun(selected, { from, input })
    await refreshLists()
    select(runId)
  })

$('cancel').onclick = () =>
  void act('cancel', async () => {
    if (selected) await api.cancel(selected)
  })

// Countdowns (retry, timer, a rate limit's or a debounce's due time) tick without new events.
setInterval(() => {
  const queuedUntil = current?.status === 'queued' && current.queued?.until !== undefined
  const timed = queuedUntil || (current && Object.values(current.steps).some((s) => s.status === 'retrying' || s.status === 'awaiting'))
  if (timed) render()
  tickSchedules(Date.now())
}, 200)
setInterval(() => void refreshLists().catch(() => {}), 3000)
// a child that was not started yet when last asked, or still runs
setInterval(() => {
  if (childrenUnsettled(children)) refreshChildren()
}, 1000)
setInterval(() => void refreshSchedules().catch(() => {}), 3000)

void refreshLists().catch(showError)
void refreshSchedules().catch(showError)
const fromHash = new URLSearchParams(location.hash.slice(1)).get('run')
if (fromHash) {
  listRunFlow = true // list the runs of its flow
  select(fromHash)
}
