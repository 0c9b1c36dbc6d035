import { type AppendManyOptions, type AppendOptions, type EventMeta, isLeanflowError, type NewEvent } from '@leanflow/core'
import { release } from '../flowControl/admission.js'
import { holdsRunSlots } from '../flowControl/limits.js'
import { leaveStepLines } from '../flowControl/stepSlots.js'
import { pendingKinds, resolvedEventWaits } from '../machine/awaits/event.js'
import { type Append, type ChildEnd, type Command, type Outputs, type Replies, type Transition, transition } from '../machine/index.js'
import { keys } from '../machine/keys.js'
import { isEnded, pendingChildren, type RunDoc } from '../machine/runDoc.js'
import { lateOnly } from './childStarts.js'
import { dropIfEnded, lateTimers } from './lateTimers.js'
import { flowFor, type Shell } from './shell.js'

/**
 * The shell's one loop: load the run's document, call the machine, write the compare-and-set
 * (again on a conflict, on the current document), then carry out the outputs — appends in
 * waves, then jobs, then the rest.
 */

/** Options of {@link apply}. */
export interface ApplyOptions {
  /** The store-clock now of the command (default: estimated). */
  now?: number
  /** Read the document from the store, not the cache. */
  fresh?: boolean
  /** Write only: the caller carries the outputs out itself (with {@link carry}) when it chooses. */
  defer?: boolean
  /** The caller keeps nothing of the document it gets back (see `UpdateOptions.own`). */
  own?: boolean
}

/** The outcome of {@link apply}: the machine's reply, the document as written (or read), the outputs. */
export interface Applied<R> {
  reply: R
  doc: RunDoc | null
  out: Transition<R>
}

/**
 * Applies `cmd` to the run: one compare-and-set of the machine's document, the appends the
 * machine wants right behind it issued in the same tick, then (unless `defer`) the outputs.
 */
export async function apply<C extends Command>(
  shell: Shell,
  runId: string,
  cmd: C,
  opts: ApplyOptions = {},
): Promise<Applied<Replies[C['type']]>> {
  const now = opts.now ?? shell.clock.estimate()
  let behind: { out: Outputs; stored: Promise<boolean> } | undefined
  const { value, doc } = await shell.states.update(
    runId,
    (d) => transition(d, cmd, { runId, now, flow: d ? flowFor(shell, d) : undefined }),
    {
      fresh: opts.fresh ?? false,
      own: opts.own ?? false,
      onWrite: (_d, out) => {
        const b = out.behind
        if (!b?.requires.every((k) => shell.seen.knows(runId, k))) return
        // what this process saw stored goes no more (an append keyed `after` it finds it stored)
        const todo = b.appends.filter((a) => !shell.seen.knows(runId, a.key))
        const stored = appendBehind(shell, runId, todo)
        stored.catch(() => {}) // awaited below unless this write was superseded
        behind = { out, stored }
      },
    },
  )
  if (behind?.out === value) await behind.stored
  if (!opts.defer && !idle(shell, runId, value)) await carry(shell, runId, value)
  return { reply: value.reply, doc, out: value }
}

/**
 * Carries out a transition's outputs: drops the run's local executions when it ended, appends
 * wave by wave (skipping what this process saw stored), queues and removes jobs, stops watching
 * kinds, matches events when asked.
 */
export async function carry(shell: Shell, runId: string, out: Outputs): Promise<void> {
  if (out.ended) shell.local.stopRun(runId, 'ended')
  // the run ended (its document says so): its slots go back while its last events are appended
  const releasing =
    out.release !== undefined && (out.held || holdsRunSlots(shell.controls.get(out.release)))
      ? release(shell, out.release, runId)
      : undefined
  releasing?.catch(() => {}) // awaited below
  // its steps waiting for a step-level slot leave their lines (else they stay counted until their turn)
  const leaving = out.leaveLines && out.release !== undefined ? leaveStepLines(shell, out.release, runId, out.leaveLines) : undefined
  leaving?.catch(() => {}) // awaited below
  // a canceled run's debounce window: closed while its last events are appended, and before the
  // cancel returns (awaited below), so the next call opens a new one
  const drop = out.dropDebounce
  const dropping =
    drop && shell.limits?.dropDebounce ? shell.limits.dropDebounce(drop.flow, drop.key, runId).catch(shell.onError) : undefined
  // The children its awaits wait on first (idempotent by run id: a repeat starts nothing): the
  // await each child's end resolves is stored already, and each child exists before its
  // `step.await.run` is in the parent's log, so a reader that sees a child's id there (a browser
  // following the parent) finds the child. A crash in between leaves the announcement to the
  // re-delivered job, and a resume appends an await's announcement again before its
  // step.resumed, so the parent's log keeps its order even when an announcement is lost.
  // (A child whose announcement this process saw stored exists: a step's end names its race's
  // losers again, and this process usually announced them itself, so it starts nothing.)
  const start = shell.startChild
  const children = out.children?.filter((c) => !shell.seen.knows(runId, keys.awaited(c.parent.step, c.parent.pos)))
  if (children?.length && start)
    await Promise.all(
      children.map((c) =>
        start(c.flow, c.input, { runId: c.runId, parent: c.parent, since: c.since, version: c.version }).catch(lateOnly(shell, c)),
      ),
    )
  // Right behind the last wave of appends (sent, not yet stored), in the same round trip, a
  // child's end, to its parent's outbox: should that last wave fail, the parent may resume first;
  // the child's job, delivered again, appends it and tells again (a second end resolves nothing).
  let telling: Promise<void> | undefined
  const notify = out.notify
  const behindLast = () => {
    if (!notify) return
    telling = shell.childEnds.tell(notify.parent, { childRunId: notify.childRunId, outcome: notify.outcome })
    telling.catch(() => {}) // awaited below, unless an append fails first
  }
  await appendWaves(shell, runId, out.appends, notify ? behindLast : undefined, out.ended === true)
  // a cancel of this run that came before its children existed found none of them: each is canceled here
  const orphans = children?.length && start ? cancelOrphans(shell, runId, children) : undefined
  orphans?.catch(() => {}) // awaited below
  if (out.jobs.length > 0) {
    const est = shell.clock.estimate()
    await Promise.all(
      out.jobs.map((j) =>
        j.op === 'remove'
          ? undefined
          : shell.queue.enqueue({ id: j.id, name: j.name, data: j.data, delayMs: Math.max(0, Math.ceil((j.at ?? est) - est)) }),
      ),
    )
    // removals once the adds are queued: a crash in between leaves the job removed (an admitted
    // run's backstop) to queue again what the adds did not (admission.ts, admitJob)
    await Promise.all(out.jobs.map((j) => (j.op === 'remove' ? shell.queue.remove(j.id) : undefined)))
    // a cancel that came between the write of this run's timers and their queuing removed nothing
    if (!out.ended) await dropIfEnded(shell, runId, lateTimers(runId, out.jobs, est))
  }
  await stopWatching(shell, runId, out.unwatch)
  await releasing
  await leaving
  if (dropping) await dropping
  // a child's end resolves its parent's await (together with the other children that end meanwhile
  // in this process: see `tellParent`); a canceled run's children are canceled with it
  await telling
  if (orphans) await orphans
  if (out.cancelChildren) {
    await Promise.all(out.cancelChildren.map((child) => apply(shell, child, PARENT_CANCELED, { fresh: true })))
  }
  if (out.ended) shell.seen.forget(runId)
  if (out.matchEvents) await matchEvents(shell, runId)
}

/** The cancel a canceled run's children get: it reaches through a child that ended to its children. */
const PARENT_CANCELED = { type: 'cancel', reason: 'parent canceled', cascade: true } as const

/**
 * Cancels the children `runId` just started when `runId` was canceled meanwhile: its cancel's
 * cascade, run between the write of their awaits and their creation, found none of them. Read
 * after they exist, the parent's document tells (a cancel after that reaches them itself).
 */
async function cancelOrphans(shell: Shell, runId: string, children: ReadonlyArray<{ runId: string }>): Promise<void> {
  const doc = await shell.states.read(runId)
  if (doc?.status !== 'canceled') return
  await Promise.all(children.map((c) => apply(shell, c.runId, PARENT_CANCELED, { fresh: true })))
}

/**
 * Tells run `parent` the ends of children `ends` (one compare-and-set resolves all their awaits)
 * and queues its resume job. The shell's `childEnds` calls it with the outcomes of the parent's
 * outbox (one fold at a time per parent), or, with a store without one, with the ends of one
 * parent that came while such a write was in flight, so children ending at once do not contend
 * for the parent's document.
 * Answers how many child awaits of the parent are still pending (its last children go at once).
 */
export async function tellParent(shell: Shell, parent: string, ends: ChildEnd[]): Promise<number> {
  // children ending in other processes too: read the parent first rather than write a stale copy
  const fresh = shell.states.contended(parent)
  const { doc } = await apply(shell, parent, { type: 'resolveChildren', ends }, { fresh, own: true })
  // a hint for the rest: the cache lends this copy to the next update, which may have changed it by now
  return doc && !isEnded(doc) ? pendingChildren(doc) : 0
}

/** True when carrying `out` out would do nothing (every append already seen stored): no await, no tick lost. */
function idle(shell: Shell, runId: string, out: Outputs): boolean {
  if (out.ended || out.matchEvents || out.release !== undefined || out.notify || out.cancelChildren || out.children) return false
  if (out.jobs.length > 0 || out.unwatch.length > 0) return false
  return out.appends.every((wave) => wave.every((a) => shell.seen.knows(runId, a.key)))
}

/**
 * Resolves the run's pending event awaits against stored external events (one compare-and-set);
 * queues the resumes. Only the awaits of `kinds` when given (a publish of those kinds: each kind
 * is read once, not every kind the run waits on), else of every kind the run waits on: a new
 * await's catch-up, run after the write that records it. That catch-up watches the kinds first,
 * then reads their events: an event stored after the read finds the run among its kind's
 * watchers, one stored before is read. The kinds no await waits on any more are unwatched
 * (see {@link stopWatching}).
 */
export async function matchEvents(shell: Shell, runId: string, kinds?: readonly string[]): Promise<void> {
  const doc = await shell.states.read(runId)
  const pending = pendingKinds(doc)
  const wanted = kinds === undefined ? [...pending] : kinds.filter((k) => pending.has(k))
  if (wanted.length === 0) {
    // an ended or expired run (or one no longer waiting on `kinds`) stops watching them
    if (kinds !== undefined && doc?.status !== 'running') await Promise.all(kinds.map((k) => shell.store.unwatchKind(k, runId)))
    // a step still suspended on an event of these kinds resolved before: its resume job, lost
    // with the process that resolved it (a publish repeated under its key comes here), again
    else if (kinds !== undefined && doc && resolvedEventWaits(doc, new Set(kinds)).length > 0)
      await apply(shell, runId, { type: 'matchEvents', events: new Map(kinds.map((k) => [k, []])) })
    return
  }
  if (kinds === undefined) await Promise.all(wanted.map((k) => shell.store.watchKind(k, runId)))
  const events = new Map(await Promise.all(wanted.map(async (k) => [k, await shell.store.readExternal(k, doc?.pos ?? 0)] as const)))
  const { doc: matched } = await apply(shell, runId, { type: 'matchEvents', events })
  const still = pendingKinds(matched)
  const done = wanted.filter((k) => !still.has(k))
  await stopWatching(shell, runId, done)
}

/**
 * Stops the run watching `kinds` (no await of them was pending in the document it last saw),
 * then reads the run again: an await of one of them written meanwhile (a step looping on
 * `ctx.await.event`, a parallel await, another step) had its kind watched by its own catch-up,
 * which this unwatch may have undone; such a kind is watched again and matched (the events
 * published while it was not watched are read then).
 */
export async function stopWatching(shell: Shell, runId: string, kinds: readonly string[]): Promise<void> {
  if (kinds.length === 0) return
  await Promise.all(kinds.map((k) => shell.store.unwatchKind(k, runId)))
  const pending = pendingKinds(await shell.states.read(runId))
  const back = kinds.filter((k) => pending.has(k))
  if (back.length === 0) return
  await Promise.all(back.map((k) => shell.store.watchKind(k, runId)))
  await matchEvents(shell, runId, back)
}

/** One append of the machine's, issued now (the store call goes out in this tick). */
function issue(shell: Shell, runId: string, a: Append, after = a.after): Promise<unknown> {
  const opts: AppendOptions = { idempotencyKey: a.key }
  if (a.fence) opts.fence = a.fence
  if (after) opts.after = after
  const stored = shell.store.append(runId, eventOf(shell, runId, a), opts)
  if (shell.observers.active)
    shell.observers.track(
      runId,
      stored.then((r) => shell.observers.appended(r, a.info), noop),
    )
  return stored
}

/**
 * Appends `batch` (no `after` of their own; one fence, or none, for all: see {@link plainRow}) in
 * one call of the store, stored only once the append keyed `after` is.
 */
function issueMany(shell: Shell, runId: string, batch: Append[], after: string | undefined): Promise<unknown> {
  const many = shell.store.appendMany as NonNullable<Shell['store']['appendMany']>
  const items = batch.map((a) => ({ event: eventOf(shell, runId, a), idempotencyKey: a.key }))
  const opts: AppendManyOptions = {}
  if (after !== undefined) opts.after = after
  const fence = batch[0]?.fence
  if (fence) opts.fence = fence
  const stored = many.call(shell.store, runId, items, opts)
  if (shell.observers.active)
    shell.observers.track(
      runId,
      stored.then((rs) => {
        for (const [i, r] of rs.entries()) shell.observers.appended(r, batch[i]?.info)
      }, noop),
    )
  return stored
}

/** The event of an append. */
function eventOf(shell: Shell, runId: string, a: Append): NewEvent {
  // plain assignments, no spreads: this runs for every runner event
  const event: NewEvent = { kind: a.kind, flow: runId, data: a.data }
  if (a.step !== undefined) {
    event.step = a.step
    if (a.attempt !== undefined) {
      const meta: EventMeta = { attempt: a.attempt }
      if (a.jobId) meta.jobId = a.jobId
      if (a.signed) meta.worker = shell.workerId
      event.meta = meta
    }
  }
  return event
}

function noop() {}

/** A conditional append the store refused (fence or `after`): nothing was written. */
function refused(err: unknown): boolean {
  return isLeanflowError(err, 'NON_RETRIABLE') || isLeanflowError(err, 'INVALID_ARGUMENT')
}

/** The appends that ride behind a compare-and-set: true when all were stored, false when refused; throws on store failures. */
async function appendBehind(shell: Shell, runId: string, appends: Append[]): Promise<boolean> {
  const results = await Promise.allSettled(appends.map((a) => issue(shell, runId, a)))
  for (const r of results) if (r.status === 'rejected' && !refused(r.reason)) throw r.reason
  if (results.some((r) => r.status === 'rejected')) return false
  for (const a of appends) shell.seen.mark(runId, a.key)
  return true
}

/**
 * Appends wave by wave, skipping what this process saw stored. A wave that comes down to one
 * append lets the next wave ride behind it in the same round trip, conditioned on it (`after`,
 * checked atomically by the store): never stored before it (behind one that may be refused, only
 * appends that may be refused too: an announcement under the run's fence). A row of such waves of plain appends
 * (no fence, no `after`: a fan-out's `step.await.run` or `step.resumed` events) goes in batches of
 * the store's `appendMany`, each atomic and in order, riding the same way. `last` is called once
 * every wave but the last is stored and the last is sent (what it sends goes out behind them).
 */
async function appendWaves(shell: Shell, runId: string, waves: Append[][], last?: () => void, ending = false): Promise<void> {
  const flight: Array<{ a: Append; p: Promise<unknown> }> = []
  let tail: Append | undefined
  for (let w = 0; w < waves.length; w++) {
    const todo = (waves[w] as Append[]).filter((a) => !shell.seen.knows(runId, a.key))
    if (todo.length === 0) continue
    // behind an append that may be refused ride only appends that may be refused too (a refusal
    // of the one before refuses them, by their `after`)
    const ride = tail !== undefined && todo.every((a) => a.after === undefined && (!tail?.mayRefuse || a.mayRefuse))
    if (!ride) {
      await settle(shell, runId, flight.splice(0), ending)
      tail = undefined // stored, or refused: nothing to ride behind
    }
    const { row, next } = shell.store.appendMany ? plainRow(shell, runId, waves, w) : { row: [], next: w }
    if (row.length >= MIN_BATCH) {
      for (let i = 0; i < row.length; i += MAX_BATCH) {
        const batch = row.slice(i, i + MAX_BATCH)
        const p = issueMany(shell, runId, batch, tail?.key)
        for (const a of batch) flight.push({ a, p })
        tail = batch.at(-1)
      }
      w = next - 1
      continue
    }
    for (const a of todo) flight.push({ a, p: issue(shell, runId, a, ride ? tail?.key : a.after) })
    const one = todo.length === 1 ? todo[0] : undefined
    tail = one
    if (!tail) await settle(shell, runId, flight.splice(0), ending)
  }
  last?.()
  await settle(shell, runId, flight, ending)
}

/** Fewest appends worth a batch. */
const MIN_BATCH = 4
/** Most appends in one batch (one store call; a Redis script of this many events holds the server about a millisecond). */
const MAX_BATCH = 200

/**
 * The appends of the waves from `from` on that can go in batches, as long as each wave comes down
 * to one (not seen stored, no `after`), and the index of the first wave after them: plain appends
 * (no fence, never refused), or appends under one fence that may be refused (announcements under
 * the run's fence: a batch is refused whole, and so are the batches riding behind it).
 */
function plainRow(shell: Shell, runId: string, waves: Append[][], from: number): { row: Append[]; next: number } {
  const row: Append[] = []
  let w = from
  for (; w < waves.length; w++) {
    const todo = (waves[w] as Append[]).filter((a) => !shell.seen.knows(runId, a.key))
    if (todo.length === 0) continue
    const a = todo[0] as Append
    if (todo.length > 1 || a.after !== undefined || !batchable(a, row[0])) break
    row.push(a)
  }
  return { row, next: w }
}

/** True when `a` can go in a batch after `first` (the batch's first append; `a` starts one when undefined). */
function batchable(a: Append, first: Append | undefined): boolean {
  const fenced = a.fence !== undefined
  // a fenced append that must not be refused, or a refusable one without a fence, goes alone
  if (fenced !== (a.mayRefuse === true)) return false
  if (!first) return true
  return fenced ? a.fence?.key === first.fence?.key && a.fence?.token === first.fence?.token : first.fence === undefined
}

/** Waits for appends in flight; notes the stored ones; throws the first failure (a refusal of a `mayRefuse` append is none). */
async function settle(shell: Shell, runId: string, flight: Array<{ a: Append; p: Promise<unknown> }>, ending = false): Promise<void> {
  if (flight.length === 0) return
  const results = await Promise.allSettled(flight.map((f) => f.p))
  let failure: { reason: unknown } | undefined
  results.forEach((r, i) => {
    const a = (flight[i] as { a: Append }).a
    if (r.status === 'fulfilled') shell.seen.mark(runId, a.key)
    // a run ending with a full log (its steps at once past maxEventsPerRun): what its other steps
    // still had to write cannot be held; it counts as settled, so what is keyed after it (its
    // end, in the closing kinds' reserve) is written without waiting for it
    else if (ending && isLeanflowError(r.reason, 'RUN_TOO_LONG')) shell.seen.mark(runId, a.key)
    else if (!(a.mayRefuse && refused(r.reason))) failure ??= { reason: r.reason }
  })
  if (failure) throw failure.reason
}
