import { isTerminalKind } from '../events.js'
import { type StepActivity, stepActivity } from '../stepActivity.js'
import type { RunCounts, RunStatus, RunSummary } from '../streamStore.js'
import { strings } from './reduceData.js'
import { isTerminalStatus } from './reduceRun.js'

/** One stored event of a memory run: its id and the full record as JSON text (so nobody can mutate it). */
export interface MemoryEntry {
  readonly id: string
  readonly json: string
}

/** Everything the memory store keeps for one run. */
export interface MemoryRun {
  readonly runId: string
  /** Stored records, in id order. */
  readonly entries: MemoryEntry[]
  /** Idempotency key → JSON of the first record appended with it. */
  readonly idempotency: Map<string, string>
  /** Last id's parts, for `<ms>-<seq>` ids that never go backwards. */
  lastMs: number
  lastSeq: number
  /** The run's status as the reducer gives it; undefined (pending) before `flow.started` or a terminal event. */
  status?: RunStatus
  /** The run's first terminal event (where it ended); undefined while it has not ended. */
  end?: { readonly id: string; readonly kind: 'flow.completed' | 'flow.failed' | 'flow.canceled' }
  /** Live steps: `active` (running, retrying or queued) or `awaiting`; others have no entry. */
  readonly steps: Map<string, Exclude<StepActivity, 'done'>>
  /** Counts of the live steps by class. */
  running: number
  awaiting: number
  /** The pending await positions of each awaiting step (`undefined`: an await without `data.position`). */
  pending?: Map<string, Array<number | undefined>>
  /** Its `step.await.run` events (the child runs it invoked). */
  children?: number
  /** Present once `flow.started` was appended (while the run was pending). */
  summary?: RunSummary
  /** `startedAt` in ms (index score). */
  startedMs?: number
  /** Store-clock time (ms) when the run expires; undefined while it runs. */
  expiresAt?: number
  timer?: ReturnType<typeof setTimeout>
}

/** 2 ** 31 - 1, as a literal (see STORE_DEFAULTS: bundlers keep a computed constant). */
const MAX_TIMER_MS = 2_147_483_647
const TERMINAL: Record<string, RunStatus> = { 'flow.completed': 'completed', 'flow.failed': 'failed', 'flow.canceled': 'canceled' }

/**
 * What a step event makes its step, given the step's pending awaits: the step stays `awaiting`
 * while any of them is pending, as the reducer keeps it. A `step.await.*` adds its `data.position`
 * (replacing the same one); a `step.resumed` or `step.await.timeout` removes its own (every one,
 * without a position: one await at a time); any other step event ends them all.
 */
function pendingAwaits(run: MemoryRun, step: string, kind: string, data: unknown, act: StepActivity): StepActivity {
  const ends = kind === 'step.resumed' || kind === 'step.await.timeout'
  if (act !== 'awaiting' && !ends) {
    run.pending?.delete(step)
    return act
  }
  const raw = (data as { position?: unknown } | null)?.position
  const pos = typeof raw === 'number' && Number.isFinite(raw) ? raw : undefined
  run.pending ??= new Map()
  const list = ends && pos === undefined ? [] : (run.pending.get(step) ?? []).filter((p) => p !== pos)
  if (!ends) list.push(pos)
  if (list.length === 0) {
    run.pending.delete(step)
    return act
  }
  run.pending.set(step, list)
  return 'awaiting'
}

/**
 * The memory store's run table: runs by id, the per-flow index, retention
 * and the doorbells followers wait on.
 *
 * Internal API for modules that keep more per-run state (the runner's
 * `RunStateStore` in `memoryRunStateStore.ts`), kept small on purpose:
 * - `now()`: the store's clock (ms), injectable; deadlines use it.
 * - `has(runId)`: true while the run has events and has not expired.
 * - `onRunExpired(fn)`: `fn(runId)` runs when retention removes a run, so
 *   state kept elsewhere expires with it; returns the unsubscribe function.
 * Expiry is checked lazily on every access (so an injected clock is honoured)
 * and by unref'd timers (so memory is freed without keeping a process alive).
 */
export class MemoryRuns {
  readonly #runs = new Map<string, MemoryRun>()
  /** Runs whose doorbell a fault test cut. */
  readonly #cut = new Set<string>()
  readonly #flows = new Map<string, Set<string>>()
  /** `<flow>\u0000<status>` → runs of the flow with that status. */
  readonly #byStatus = new Map<string, Set<string>>()
  readonly #expiredHooks = new Set<(runId: string) => void>()
  readonly #bells = new Map<string, Set<() => void>>()
  readonly #clock: () => number
  readonly retentionMs: number
  #closed = false

  constructor(clock: () => number, retentionMs: number) {
    this.#clock = clock
    this.retentionMs = retentionMs
  }

  /** The store's clock in whole ms. */
  now(): number {
    return Math.floor(this.#clock())
  }

  get closed(): boolean {
    return this.#closed
  }

  /** The live run, or undefined (expiring it first when its time has come). */
  get(runId: string): MemoryRun | undefined {
    const run = this.#runs.get(runId)
    if (run?.expiresAt !== undefined && this.now() >= run.expiresAt) {
      this.expire(runId)
      return undefined
    }
    return run
  }

  /** True while the run has events and has not expired. */
  has(runId: string): boolean {
    return this.get(runId) !== undefined
  }

  getOrCreate(runId: string): MemoryRun {
    let run = this.get(runId)
    if (!run) {
      run = { runId, entries: [], idempotency: new Map(), lastMs: -1, lastSeq: 0, steps: new Map(), running: 0, awaiting: 0 }
      this.#runs.set(runId, run)
    }
    return run
  }

  /**
   * Folds a stored event into the run's status, as the reducer does (`flow.started` starts a
   * pending run; `flow.queued` makes a started run `queued` until its first `step.started`; a
   * started run is `awaiting` while a step awaits and none runs, retries or is queued, else
   * `running`; a terminal status sticks), and keeps the flow's index by status in step. A
   * terminal event starts the retention clock.
   */
  settle(
    run: MemoryRun,
    e: {
      id: string
      kind: string
      step?: string
      data: unknown
      ms: number
      ts: string
      flowName?: string
      flowVersion?: number | undefined
    },
  ): void {
    if (e.kind === 'step.await.run') {
      // a child run invoked: counted on every append, as the reducer counts them
      run.children = (run.children ?? 0) + 1
      if (run.summary) run.summary = { ...run.summary, children: run.children }
    }
    const was = run.status
    if (was !== undefined && isTerminalStatus(was)) return
    let act = stepActivity(e)
    if (act !== undefined && e.step !== undefined) {
      act = pendingAwaits(run, e.step, e.kind, e.data, act)
      const old = run.steps.get(e.step) ?? 'done'
      if (old !== act) {
        if (old === 'active') run.running--
        else if (old === 'awaiting') run.awaiting--
        if (act === 'active') run.running++
        else if (act === 'awaiting') run.awaiting++
        if (act === 'done') run.steps.delete(e.step)
        else run.steps.set(e.step, act)
      }
    }
    const live: RunStatus = run.awaiting > 0 && run.running === 0 ? 'awaiting' : 'running'
    // isTerminalKind first: a user kind such as "constructor" must not read the prototype
    const terminal = isTerminalKind(e.kind) ? TERMINAL[e.kind] : undefined
    if (terminal !== undefined) {
      run.end = { id: e.id, kind: e.kind as 'flow.completed' | 'flow.failed' | 'flow.canceled' }
      this.#move(run, terminal, e.ts)
      this.finish(run)
    } else if (e.kind === 'flow.started' && was === undefined && e.flowName !== undefined) {
      run.status = live
      run.summary = { runId: run.runId, flow: e.flowName, status: live, startedAt: e.ts }
      const parent = strings((e.data as { parent?: unknown } | null)?.parent, 'runId', 'step')
      // frozen: listRuns hands out shallow copies of the summary
      if (parent !== undefined) run.summary.parent = Object.freeze(parent)
      if (e.flowVersion !== undefined) run.summary.version = e.flowVersion
      if (run.children !== undefined) run.summary.children = run.children
      run.startedMs = e.ms
      let set = this.#flows.get(e.flowName)
      if (!set) this.#flows.set(e.flowName, (set = new Set()))
      set.add(run.runId)
      this.#statusSet(e.flowName, live).add(run.runId)
    } else if (e.kind === 'flow.queued') {
      if (was !== undefined && was !== 'queued') this.#move(run, 'queued')
    } else if (was !== undefined && live !== was && (was !== 'queued' || e.kind === 'step.started')) {
      // a queued run leaves `queued` only at a step.started
      this.#move(run, live)
    }
  }

  #move(run: MemoryRun, status: RunStatus, completedAt?: string): void {
    const was = run.status
    run.status = status
    const summary = run.summary
    if (!summary) return
    run.summary = completedAt === undefined ? { ...summary, status } : { ...summary, status, completedAt }
    if (was !== undefined) this.#statusSet(summary.flow, was).delete(run.runId)
    this.#statusSet(summary.flow, status).add(run.runId)
  }

  #statusSet(flow: string, status: RunStatus): Set<string> {
    const key = `${flow}\u0000${status}`
    let set = this.#byStatus.get(key)
    if (!set) this.#byStatus.set(key, (set = new Set()))
    return set
  }

  /** The live runs of a flow that have a summary; with `status`, only those (read from that status's set alone). */
  flowRuns(flow: string, status?: RunStatus): MemoryRun[] {
    const out: MemoryRun[] = []
    const ids = status === undefined ? this.#flows.get(flow) : this.#byStatus.get(`${flow}\u0000${status}`)
    for (const runId of ids ?? []) {
      const run = this.get(runId)
      if (run?.summary) out.push(run)
    }
    return out
  }

  /** A flow's live runs counted per status (`countRuns`). */
  countRuns(flow: string): RunCounts {
    const statuses: Record<RunStatus, number> = { pending: 0, queued: 0, running: 0, awaiting: 0, completed: 0, failed: 0, canceled: 0 }
    let n = 0
    for (const run of this.flowRuns(flow)) {
      const st = run.summary?.status
      if (st !== undefined) statuses[st]++
      n++
    }
    return { runs: n, statuses }
  }

  flowNames(): string[] {
    return [...this.#flows.keys()]
  }

  /** Starts the run's retention clock (a terminal event was appended). */
  finish(run: MemoryRun): void {
    run.expiresAt = this.now() + this.retentionMs
    if (run.timer !== undefined) clearTimeout(run.timer)
    this.#schedule(run, this.retentionMs)
  }

  #schedule(run: MemoryRun, delay: number): void {
    if (this.#closed) return
    run.timer = setTimeout(
      () => {
        run.timer = undefined
        if (this.#runs.get(run.runId) !== run || run.expiresAt === undefined) return
        const left = run.expiresAt - this.now()
        if (left <= 0) this.expire(run.runId)
        else this.#schedule(run, left)
      },
      Math.min(Math.max(delay, 0), MAX_TIMER_MS),
    )
    ;(run.timer as { unref?: () => void }).unref?.()
  }

  /** Removes a run, its summary and index entry, and tells the `onRunExpired` hooks. */
  expire(runId: string): void {
    const run = this.#runs.get(runId)
    if (!run) return
    this.#runs.delete(runId)
    if (run.timer !== undefined) clearTimeout(run.timer)
    const flow = run.summary?.flow
    const set = flow === undefined ? undefined : this.#flows.get(flow)
    if (flow !== undefined && set) {
      set.delete(runId)
      if (set.size === 0) this.#flows.delete(flow)
    }
    if (flow !== undefined && run.status !== undefined) {
      const key = `${flow}\u0000${run.status}`
      this.#byStatus.get(key)?.delete(runId)
      if (this.#byStatus.get(key)?.size === 0) this.#byStatus.delete(key)
    }
    for (const hook of this.#expiredHooks) {
      try {
        hook(runId)
      } catch {
        // a failing hook must not keep the run alive or break the others
      }
    }
    this.ring(runId)
  }

  /** Registers a hook called with the run id when a run expires; returns the unsubscribe function. */
  onRunExpired(fn: (runId: string) => void): () => void {
    this.#expiredHooks.add(fn)
    return () => void this.#expiredHooks.delete(fn)
  }

  /** Subscribes a follower's doorbell for a run; returns the unsubscribe function. */
  listen(runId: string, bell: () => void): () => void {
    let set = this.#bells.get(runId)
    if (!set) this.#bells.set(runId, (set = new Set()))
    set.add(bell)
    return () => {
      const s = this.#bells.get(runId)
      if (!s) return
      s.delete(bell)
      if (s.size === 0) this.#bells.delete(runId)
    }
  }

  /**
   * Cuts the run's doorbell, as a lost Redis subscription cuts its live channel: rings are
   * dropped (not queued) until the returned function restores it, and rings once then, as a
   * resubscribe makes the followers read again. For fault tests.
   */
  cutBell(runId: string): () => void {
    this.#cut.add(runId)
    return () => {
      this.#cut.delete(runId)
      this.ring(runId)
    }
  }

  /** Rings every follower of the run (new events, expiry or close). */
  ring(runId: string): void {
    if (this.#cut.has(runId) && !this.#closed) return
    const set = this.#bells.get(runId)
    if (set) for (const bell of [...set]) bell()
  }

  /** Number of subscribed followers, over all runs. */
  followerCount(): number {
    let n = 0
    for (const set of this.#bells.values()) n += set.size
    return n
  }

  /** Stops all timers and rings every follower (they end). */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    for (const run of this.#runs.values()) {
      if (run.timer !== undefined) clearTimeout(run.timer)
      run.timer = undefined
    }
    for (const runId of [...this.#bells.keys()]) this.ring(runId)
  }
}
