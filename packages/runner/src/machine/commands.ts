import type { AppendFence, ExternalEvent } from '@leanflow/core'
import type { EventInfo } from '../observer.js'
import type { ChildEnd, ChildOutcome } from './awaits/run.js'
import type { JobKind, RunnerJobData } from './keys.js'
import type { AwaitRec, DoRec } from './runDoc.js'

/**
 * What happens to a run, as data: every decision of the runner is {@link transition} of one of
 * these. Ids (leases, job ids) come in with the command; time comes in beside it.
 */
export type Command =
  /** `cascade`: the cancel of an ancestor, which reaches through a run that ended to its children still active. */
  | { type: 'cancel'; reason?: string | undefined; cascade?: boolean | undefined }
  | { type: 'resolveTrigger'; triggerId: string; value: unknown }
  /** Several triggers of the run resolved at once (in order: a repeated id conflicts with the first). */
  | { type: 'resolveTriggers'; triggers: Array<{ triggerId: string; value: unknown }> }
  | { type: 'matchEvents'; events: ReadonlyMap<string, readonly ExternalEvent[]> }
  | { type: 'claimStep'; step: string; attempt: number; jobId: string; lease: string }
  | { type: 'awaitJob'; job: 'time' | 'timeout' | 'resume'; step: string; pos: number; jobId: string; lease: string }
  /** Several `time` / `timeout` jobs of the run at once, applied in order to one document (one compare-and-set). */
  | { type: 'awaitJobs'; jobs: Array<{ job: 'time' | 'timeout'; step: string; pos: number; jobId: string; lease: string }> }
  | { type: 'takeOver'; step: string; jobId: string; lease: string }
  | {
      type: 'complete'
      step: string
      lease: string
      result: unknown
      /** `result` as JSON when the shell made it already (checking that an event holds it): not made again. */
      json?: string | undefined
      next?: { jobId: string; lease: string } | undefined
      /** The store's event limit: a run result (`flow.completed`) over it fails the run instead. */
      maxEventBytes?: number | undefined
    }
  | { type: 'fail'; step: string; lease: string; attempt: number; error: string; retryDelayMs?: number | undefined }
  | { type: 'record'; step: string; lease: string; pos: number; rec: DoRec; marks?: Marks | undefined }
  | { type: 'setState'; step: string; lease: string; key: string; value: unknown }
  | {
      type: 'announce'
      step: string
      lease: string
      pos: number
      rec: AwaitRec
      suspend: boolean
      /** `ctx.patched` markers made since the last write, before the positions this write records. */
      marks?: Marks | undefined
      /**
       * Awaits registered at the positions after `pos` (in position order), recorded and announced
       * by this same write: awaits made at once (`Promise.all` of triggers) take one compare-and-set.
       */
      more?: Array<{ pos: number; rec: AwaitRec }> | undefined
    }
  | {
      type: 'suspend'
      step: string
      lease: string
      positions: number[]
      /** Awaits registered since the last write, recorded (in position order) and announced by this same write. */
      announce?: Array<{ pos: number; rec: AwaitRec }> | undefined
      /** `ctx.patched` markers made since the last write, before the positions this write records. */
      marks?: Marks | undefined
    }
  /** Children's ends, told their parent together (each resolves its await once). */
  | { type: 'resolveChildren'; ends: ChildEnd[] }
  | { type: 'admit'; input?: unknown }
  | {
      type: 'queue'
      reason: 'concurrency' | 'rateLimit' | 'debounce'
      key?: string | undefined
      until?: number | undefined
      /** The input it will run with (a debounced run's last). */
      input?: unknown
    }
  | {
      type: 'queueStep'
      step: string
      attempt: number
      key?: string | undefined
      job: Exclude<JobKind, 'admit' | 'begin' | 'cancel'>
      pos?: number | undefined
      /** The waiting job's slot token (its holder in the store is `<runId>~<step>.<slot>`). */
      slot: string
      /** The waiting job's id. */
      jobId?: string | undefined
    }
  | { type: 'wake'; step: string; slot: string }
  /** `jobId`: the job that ends the wait (the waiting job itself, or its backstop). */
  | { type: 'unwait'; step: string; slot: string; jobId?: string | undefined }

/** `ctx.patched` markers (records `{ t: 'do', name: 'patched:<id>' }`) at their call positions, stored with the write that carries them. */
export type Marks = Array<{ pos: number; rec: DoRec }>

/** One event to append: carried out by the shell with `store.append(runId, …, { idempotencyKey: key, fence, after })`. */
export interface Append {
  kind: string
  step?: string
  data: unknown
  /** Idempotency key (the store keeps the first event of each key). */
  key: string
  attempt?: number
  /** `meta.jobId` of `step.started`. */
  jobId?: string
  /** Signed with `meta.worker` of the appending worker. */
  signed?: true
  /** Stored only while the run's fence `fence.key` holds `fence.token`. */
  fence?: AppendFence
  /** Stored only once the append keyed `after` is. */
  after?: string
  /** A refusal (fence, `after`) is an answer, not an error: nothing is written; only appends that may be refused too ride behind it. */
  mayRefuse?: true
  /** Told to the observers with the event (not stored): a terminal event's cut-off attempts, a `step.failed`'s start. */
  info?: EventInfo
}

/** A job to queue (`at`: store-clock ms it is due; absent: now) or to remove. */
export type JobOut = { op: 'add'; name: JobKind; id: string; data: RunnerJobData; at?: number } | { op: 'remove'; id: string }

/** What a transition asks the shell to carry out, besides writing the document. */
export interface Outputs {
  /**
   * Appends issued in the same tick as the compare-and-set (pipelined behind it), fenced by a
   * lease only that write sets: refused unless it applied. Only when this process saw every
   * append keyed in `requires` stored (else they go the ordinary way, in `appends`).
   */
  behind?: { appends: Append[]; requires: string[] }
  /** Appends in waves: the appends of a wave go out together, each wave once the one before is stored. */
  appends: Append[][]
  /** Jobs to queue or remove, once the appends are stored. */
  jobs: JobOut[]
  /** Event kinds the run stops watching. */
  unwatch: string[]
  /** The run ended: this process drops its executions of it and forgets what it knew of it. */
  ended?: boolean
  /** The run ended: the flow whose run-level limits (concurrency, singleton) it gives back its slots in. */
  release?: string
  /** With `release`: the run went through admission (`RunDoc.limited`), so it gives back what it holds even when the flow's definition now has no run-level limits. */
  held?: true
  /** The run ended: its steps that waited for a step-level slot (step, token) leave their lines. */
  leaveLines?: Array<{ step: string; slot: string }>
  /** The run was canceled while it waited for its debounce window: the window (of this flow and key) closes with it. */
  dropDebounce?: { flow: string; key: string }
  /** The run ended and was started by `ctx.invoke`: its parent's await is resolved with how it ended. */
  notify?: { parent: string; childRunId: string; outcome: ChildOutcome }
  /** The run was canceled: its children (runs it invoked) are canceled too. */
  cancelChildren?: string[]
  /** Child runs to start (`ctx.invoke`, idempotent by run id): after the await that waits on each is stored. */
  children?: ChildStart[]
  /** Match the run's pending event awaits against stored events afterwards (a `matchEvents` command). */
  matchEvents?: boolean
}

/** The outcome of a transition: the reply to the caller and the outputs (the document is changed in place). */
export interface Transition<R = unknown> extends Outputs {
  reply: R
}

/** Outputs with nothing to carry out. */
export function none(): Outputs {
  return { appends: [], jobs: [], unwatch: [] }
}

/** A child run to start: its flow, its run id (chosen by the parent's await), its input and where it was invoked. */
export interface ChildStart {
  flow: string
  runId: string
  input: unknown
  parent: { runId: string; step: string; pos: number }
  /** Store time its await was recorded: no first job of the child was queued before it. */
  since: number
  /** The flow version whose schema checked `input`: the child starts on it (a process without it cannot start it). */
  version?: number
  /** Written by whatever closed its await (`lateChildren`), not by its invoke: a process that cannot start it (flow or version not held) skips it. */
  late?: true
}
