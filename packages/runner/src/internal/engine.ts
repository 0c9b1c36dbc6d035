import type { ActiveJob, AppendFence, EventMeta, JobQueue } from '@leanflow/core'
import type { FlowDefinition, RunnerStore } from '../types.js'
import type { Execution } from './execution.js'
import { type JobKind, newId, type RunnerJobData, resumeJobId, stepJobId, timeJobId, timeoutJobId } from './jobIds.js'
import { matches } from './match.js'
import type { AwaitRec, RunDoc, StepDoc } from './runDoc.js'
import { RunStates } from './runStates.js'

const MAX_INPUTS = 1000
const MAX_KNOWN = 10_000

/** Shared machinery of a runner: store access, clock, appends, jobs, event matching. */
export class Engine {
  readonly states: RunStates
  readonly flows = new Map<string, FlowDefinition>()
  /** Executions running in this process, by run (cancel aborts them at once). */
  readonly local = new Map<string, Set<Execution>>()
  private offset = 0
  private readonly inputs = new Map<string, unknown>()
  /** Idempotency keys of lifecycle appends this process saw stored, by run (their re-append is skipped). */
  private readonly stored = new Map<string, Set<string>>()
  /** Set by `stop()`: no inline continuation while draining. */
  stopping = false

  constructor(
    readonly store: RunnerStore,
    readonly queue: JobQueue,
    flows: readonly FlowDefinition[],
    readonly onError: (err: unknown) => void,
    readonly clock: () => number,
    /** Names this worker in `meta.worker` of the `step.started` / `step.completed` events of its executions. */
    readonly workerId: string,
  ) {
    this.states = new RunStates(store)
    for (const f of flows) this.flows.set(f.name, f)
  }

  /** The run's input, from its `flow.started` event (cached: it never changes). */
  async inputOf(runId: string): Promise<unknown> {
    // a copy per execution: a handler that mutates its input changes no other step's view
    if (this.inputs.has(runId)) return structuredClone(this.inputs.get(runId))
    const [first] = await this.store.read(runId, { limit: 1 })
    if (first?.kind !== 'flow.started') throw new Error(`Run ${runId} has no flow.started event to take its input from.`)
    const input = (first.data as { input?: unknown } | null)?.input ?? null
    this.noteInput(runId, input)
    return structuredClone(input)
  }

  /** Caches a run's input, taken from its stored `flow.started` record. */
  noteInput(runId: string, input: unknown): void {
    if (this.inputs.size >= MAX_INPUTS && !this.inputs.has(runId)) this.inputs.delete(this.inputs.keys().next().value as string)
    this.inputs.set(runId, input)
  }

  /** The store's clock, asked (one round trip); also re-estimates the local offset. */
  async storeNow(): Promise<number> {
    const t0 = this.clock()
    const now = await this.store.now()
    this.offset = now - Math.round((t0 + this.clock()) / 2)
    return now
  }

  /** The store's clock estimated locally (durations only, never deadlines). */
  estNow(): number {
    return this.clock() + this.offset
  }

  /**
   * Appends a runner event by its idempotency key. With `fence`, only while the run's fence
   * `fence.key` holds `fence.token`; with `after`, only once the append with that idempotency
   * key is stored (both checked atomically in the store).
   */
  async append(
    runId: string,
    step: string | undefined,
    kind: string,
    data: unknown,
    key: string,
    meta?: EventMeta,
    cond: { fence?: AppendFence; after?: string } = {},
  ) {
    const event = step === undefined ? { kind, flow: runId, data } : { kind, flow: runId, step, data, ...(meta ? { meta } : {}) }
    return this.store.append(runId, event, { idempotencyKey: key, ...cond })
  }

  /** True when this process saw the append with idempotency key `key` of the run stored. */
  knows(runId: string, key: string): boolean {
    return this.stored.get(runId)?.has(key) === true
  }

  /** Notes that the append with idempotency key `key` of the run is stored (its re-append is skipped). */
  mark(runId: string, key: string): void {
    let set = this.stored.get(runId)
    if (!set) {
      if (this.stored.size >= MAX_KNOWN) this.stored.delete(this.stored.keys().next().value as string)
      set = new Set()
      this.stored.set(runId, set)
    }
    set.add(key)
  }

  /** Forgets a run that ended (its terminal event is stored). */
  forgetRun(runId: string): void {
    this.stored.delete(runId)
  }

  async enqueue(kind: JobKind, id: string, data: RunnerJobData, delayMs = 0) {
    await this.queue.enqueue({ id, name: kind, data, delayMs: Math.max(0, Math.ceil(delayMs)) })
  }

  enqueueStep(runId: string, step: string, attempt: number, delayMs = 0) {
    return this.enqueue('step', stepJobId(runId, step, attempt), { runId, step, attempt }, delayMs)
  }

  enqueueResume(runId: string, step: string, attempt: number, pos: number) {
    return this.enqueue('resume', resumeJobId(runId, step, attempt, pos), { runId, step, pos })
  }

  enqueueTime(runId: string, step: string, rec: AwaitRec, pos: number, delayMs: number, suffix = '') {
    return this.enqueue('time', timeJobId(runId, step, rec.attempt, pos) + suffix, { runId, step, pos }, delayMs)
  }

  enqueueTimeout(runId: string, step: string, rec: AwaitRec, pos: number, delayMs: number, suffix = '') {
    return this.enqueue('timeout', timeoutJobId(runId, step, rec.attempt, pos) + suffix, { runId, step, pos }, delayMs)
  }

  /** The flow of a run document, or an error naming the missing definition. */
  flowOf(doc: RunDoc): FlowDefinition {
    const flow = this.flows.get(doc.flow)
    if (!flow) throw new Error(`Flow "${doc.flow}" is not registered with this runner: pass it in createRunner({ flows }).`)
    return flow
  }

  /** Resolves pending event awaits of a run against stored external events (one CAS); queues the resumes. */
  async matchEvents(runId: string, kind?: string): Promise<void> {
    const doc = await this.states.read(runId)
    if (doc?.status !== 'running') {
      // an ended or expired run stops watching the kind its publisher found it under
      if (kind !== undefined) await this.store.unwatchKind(kind, runId)
      return
    }
    const kinds = new Set<string>()
    for (const s of Object.values(doc.steps)) for (const r of s.records) if (r.t === 'event' && r.state === 'pending') kinds.add(r.kind)
    if (kinds.size === 0) return
    const events = new Map(await Promise.all([...kinds].map(async (k) => [k, await this.store.readExternal(k, doc.pos)] as const)))
    const now = this.estNow()
    const { value: resumes } = await this.states.update(runId, (d) => {
      const out: Array<{ step: string; attempt: number; pos: number }> = []
      if (d?.status !== 'running') return out
      for (const [name, s] of Object.entries(d.steps)) {
        s.records.forEach((r, pos) => {
          if (r.t !== 'event' || r.state !== 'pending') return
          const hit = events.get(r.kind)?.find((e) => !d.consumed.includes(e.id) && matches(e, r.match))
          if (!hit) return
          r.state = 'resolved'
          r.event = { id: hit.id, ts: hit.ts, kind: hit.kind, data: hit.data }
          r.doneAt = Math.max(now, r.since)
          d.consumed.push(hit.id)
          if (s.status === 'suspended' && s.waitingOn === pos) out.push({ step: name, attempt: s.attempt, pos })
        })
      }
      return out
    })
    for (const r of resumes) await this.enqueueResume(runId, r.step, r.attempt, r.pos)
    const after = await this.states.read(runId)
    for (const k of kinds) {
      const still =
        after?.status === 'running' &&
        Object.values(after.steps).some((s) => s.records.some((r) => r.t === 'event' && r.kind === k && r.state === 'pending'))
      if (!still) await this.store.unwatchKind(k, runId)
    }
  }

  /** Claims a step for a job: a fresh lease, `running`, owner = the job. */
  claim(s: StepDoc, job: ActiveJob, now: number): string {
    const lease = newId()
    s.status = 'running'
    s.lease = lease
    s.owner = job.id
    s.startedAt ??= now
    // nextRetryAt and error stay: the retried attempt re-derives step.failed / step.retry from them
    delete s.waitingOn
    return lease
  }

  register(ex: Execution) {
    const set = this.local.get(ex.runId) ?? new Set()
    set.add(ex)
    this.local.set(ex.runId, set)
  }

  unregister(ex: Execution) {
    const set = this.local.get(ex.runId)
    set?.delete(ex)
    if (set?.size === 0) this.local.delete(ex.runId)
  }

  /** Steps a run's ready jobs: every `ready` or `retrying` step gets its (idempotent) job. */
  async enqueueReady(runId: string, doc: RunDoc, now: number) {
    for (const [name, s] of Object.entries(doc.steps)) {
      if (s.status === 'ready') await this.enqueueStep(runId, name, s.attempt)
      else if (s.status === 'retrying') await this.enqueueStep(runId, name, s.attempt, (s.nextRetryAt ?? now) - this.estNow())
    }
  }
}
