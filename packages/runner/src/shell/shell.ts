import type { JobQueue, LimitStore } from '@leanflow/core'
import { type FlowControl, flowControlOf } from '../flowControl/control.js'
import { limitStoreOf } from '../flowControl/limits.js'
import { isMemoryQueue } from '../memoryQueue.js'
import type { FlowDefinition, RunnerStore } from '../types.js'
import { matchEvents, tellParent } from './apply.js'
import { ChildBases } from './childBases.js'
import { ChildEnds } from './childEnds.js'
import { Coalescer } from './coalescer.js'
import { LocalExecutions } from './execution.js'
import { Observers } from './observers.js'
import { RunInputs } from './runInputs.js'
import { RunStates } from './runStates.js'
import { SeenAppends } from './seenAppends.js'
import { type StartWrites, startWritesOf } from './startWrites.js'
import { StoreClock } from './storeClock.js'
import { stampedQueue } from './storeStamp.js'
import { decideTimers, type TimerAsk } from './timerJobs.js'
import { resolveTriggers, type TriggerAsk } from './triggers.js'

/**
 * The runner's I/O side, as one value handed to every part of the shell: the store and the
 * queue, the flows, the run documents (compare-and-set with a cache), the store clock, what this
 * process saw stored, and the executions it runs. The decisions are the machine's
 * (`../machine`); the shell loads, calls the machine, writes and carries out (`apply.ts`).
 */
export interface Shell {
  readonly store: RunnerStore
  readonly queue: JobQueue
  /** Each flow by name: its highest version held (new runs, schedules, flow control, `ctx.invoke`). */
  readonly flows: ReadonlyMap<string, FlowDefinition>
  /** Every version held of each flow, by name then version: a run's jobs run on its pinned version's code. */
  readonly versions: ReadonlyMap<string, ReadonlyMap<number, FlowDefinition>>
  /** `flow@version` pairs this worker lacked for a job and reported to `onError` (once each). */
  readonly unheld: Set<string>
  /** The store's `storeId`, stamped into every job this runner queues (`data.store`). */
  readonly storeId: string | undefined
  /** Other stores' ids whose jobs this worker took and handed back, reported to `onError` (once each). */
  readonly foreign: Set<string>
  readonly states: RunStates
  readonly clock: StoreClock
  readonly seen: SeenAppends
  readonly inputs: RunInputs
  readonly local: LocalExecutions
  /** The run writes of the starts this process has in flight on the store (their first jobs, taken here, wait for them). */
  readonly starts: StartWrites
  /** Tells children's ends to their parents (an outbox in the parent's slot, or writes gathered per parent). */
  readonly childEnds: ChildEnds
  /**
   * Matches published events against a run watching their kinds, by run: the kinds published
   * while a match of the run is in flight go together in the next (one compare-and-set, each kind
   * read once), instead of one contended write per event.
   */
  readonly matches: Coalescer<string>
  /** Resolves triggers, by run: the resolves of one run made while one is in flight go together in the next write. */
  readonly triggers: Coalescer<TriggerAsk>
  /** Decides `time` / `timeout` jobs, by run: the jobs of one run that come while one is in flight go together in the next write. */
  readonly timers: Coalescer<TimerAsk>
  /** The time and position of each child a `ctx.invoke` starts, asked with the invoke's writes (its start asks no more). */
  readonly childBases: ChildBases
  readonly onError: (err: unknown) => void
  /** `runner.observe`: told of each event this process appends. */
  readonly observers: Observers
  /** Names this worker in `meta.worker` of the `step.started` / `step.completed` events it appends. */
  readonly workerId: string
  /** Set by `stop()`: no inline continuation while draining. */
  stopping: boolean
  /** Each flow's flow control (flows without any are absent). */
  readonly controls: ReadonlyMap<string, FlowControl>
  /** The store's limits, when it implements them. */
  readonly limits: LimitStore | undefined
  /** Names of the steps that have a step-level limit in some flow: only their jobs look for a slot. */
  readonly limitedSteps: ReadonlySet<string>
  /** How long a step slot holds without renewal (a dead worker's frees itself after it). */
  readonly slotLeaseMs: number
  /** Most awaits one step may have pending at once. */
  maxPendingAwaits: number
  /** Starts a child run (`ctx.invoke`); set by the runner. */
  startChild?: (
    flow: string,
    input: unknown,
    opts: { runId: string; parent: { runId: string; step: string; pos: number }; since: number; version?: number | undefined },
  ) => Promise<unknown>
}

/** The shell of a runner over `store` and `queue`. */
export function createShell(
  store: RunnerStore,
  queue: JobQueue,
  flows: readonly FlowDefinition[],
  onError: (err: unknown) => void,
  clock: () => number,
  workerId: string,
  slotLeaseMs = 30_000,
): Shell {
  const versions = new Map<string, Map<number, FlowDefinition>>()
  for (const f of flows) {
    const byVersion = versions.get(f.name) ?? new Map<number, FlowDefinition>()
    byVersion.set(versionOf(f), f)
    versions.set(f.name, byVersion)
  }
  const highest = new Map<string, FlowDefinition>()
  for (const [name, byVersion] of versions) highest.set(name, byVersion.get(Math.max(...byVersion.keys())) as FlowDefinition)
  const controls = new Map<string, FlowControl>()
  for (const f of highest.values()) {
    const fc = flowControlOf(f.name, f, f.steps)
    if (fc) controls.set(f.name, fc)
  }
  // a custom store's id, when it has a usable one; jobs on an in-process queue are not stamped (one
  // process, no other app's worker takes them; and no cost on its step loop)
  const storeId = typeof store.storeId === 'string' && store.storeId !== '' ? store.storeId : undefined
  const shell: Shell = {
    controls,
    limits: limitStoreOf(store),
    limitedSteps: new Set([...controls.values()].flatMap((fc) => Object.keys(fc.steps))),
    slotLeaseMs,
    maxPendingAwaits: 1000,
    store,
    queue: isMemoryQueue(queue) ? queue : stampedQueue(queue, storeId),
    flows: highest,
    versions,
    unheld: new Set(),
    storeId,
    foreign: new Set(),
    states: new RunStates(store),
    clock: new StoreClock(store, clock),
    seen: new SeenAppends(),
    inputs: new RunInputs(store),
    local: new LocalExecutions(),
    starts: startWritesOf(store),
    childEnds: new ChildEnds(store, (parent, ends) => tellParent(shell, parent, ends), onError),
    matches: new Coalescer<string>((runId, kinds) => matchEvents(shell, runId, [...new Set(kinds)])),
    triggers: new Coalescer<TriggerAsk>((runId, asks) => resolveTriggers(shell, runId, asks)),
    timers: new Coalescer<TimerAsk>((runId, asks) => decideTimers(shell, runId, asks)),
    childBases: new ChildBases(() => store.externalPosition()),
    onError,
    observers: new Observers(store, onError),
    workerId,
    stopping: false,
  }
  return shell
}

/** A flow's name, given the flow (a `defineFlow` object) or its name (anything else is left as is, for the caller's check to name). */
export function flowNameOf(flow: unknown): unknown {
  const f = flow as { name?: unknown; steps?: unknown } | null
  return typeof f === 'object' && f !== null && typeof f.name === 'string' && typeof f.steps === 'object' ? f.name : flow
}

/** A flow's version (`defineFlow({ version })`, 1 when not given). */
export function versionOf(flow: { version?: number | undefined }): number {
  return flow.version ?? 1
}

/** A run (its document, or what names its flow and version), as {@link flowFor} reads it. */
export interface PinnedRun {
  flow: string
  version?: number | undefined
  /** The run's steps, by name, when known: a definition with other steps is not the run's code. */
  steps?: Readonly<Record<string, unknown>> | undefined
}

/**
 * The definition a run is pinned to (its document's flow and version; a run older than versions is
 * on version 1), or undefined when this runner does not hold it: also when the version held has
 * other steps than the run's (a deploy that renamed, added or removed steps without a new
 * version), whose code would leave the run's own steps waiting for ever.
 */
export function flowFor(shell: Shell, doc: PinnedRun): FlowDefinition | undefined {
  const flow = shell.versions.get(doc.flow)?.get(doc.version ?? 1)
  return flow && doc.steps && !sameSteps(flow, doc.steps) ? undefined : flow
}

/** Whether a definition has exactly the run's steps (by name). */
export function sameSteps(flow: FlowDefinition, steps: Readonly<Record<string, unknown>>): boolean {
  let n = 0
  for (const name in steps) {
    if (!Object.hasOwn(flow.steps, name)) return false
    n++
  }
  return n === Object.keys(flow.steps).length
}

/** The flow of a run, or an error naming the missing definition. */
export function flowOf(shell: Shell, doc: PinnedRun): FlowDefinition {
  const flow = flowFor(shell, doc)
  if (!flow)
    throw new Error(
      `Flow "${doc.flow}" version ${doc.version ?? 1} is not registered with this runner: pass it in createRunner({ flows }).`,
    )
  return flow
}
