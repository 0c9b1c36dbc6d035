/**
 * The names the machine gives what it asks for: job ids (the queue keeps one job per id) and
 * the idempotency keys of the runner's appends (the store keeps one event per key and run).
 * `~` cannot appear in names, so ids never collide; no `:` (BullMQ refuses it in job ids).
 */

/** Job names the runner routes on. */
export type JobKind = 'step' | 'resume' | 'time' | 'timeout' | 'admit' | 'begin' | 'cancel'

/** The data of every runner job. */
export interface RunnerJobData {
  runId: string
  step: string
  /** Attempt of a `step` job. */
  attempt?: number
  /** Record position of an await job. */
  pos?: number
  /** The flow of an `admit` or `begin` job (its run may not exist: the job then gives back its slots). */
  flow?: string
  /** How many times an `admit` job found its run still waiting. */
  tries?: number
  /** The step-level slot token a woken (or backstop) job goes on with. */
  slot?: string
  /** A backstop job of a waiting step: it goes on only if it ends the wait itself (`unwait`). */
  backstop?: true
  /**
   * When an `admit` job of a run kept out by a rate limit asks (store-clock ms): the job is queued a
   * little earlier and waits for it in the worker (a queue's delayed job can come some ms late).
   */
  due?: number
  /** An `admit` job queued for a run whose turn moved: a run not written yet is left to its start (it asks again itself). */
  turn?: true
  /**
   * A new run's first step job, queued before its run was written (store-clock ms it was queued
   * at): a worker that takes it before the write landed waits for the run instead of dropping it.
   */
  first?: number
  /**
   * The `storeId` of the store of the runner that queued the job (absent when it has none): a
   * worker over another store hands the job back instead of looking for its run in the wrong store.
   */
  store?: string
  /** The kind of a `match` job: its watchers are matched against the stored events of that kind again. */
  kind?: string
  /** The trigger of a `trigger` job: its resolve may have died between its write and its resume job. */
  trigger?: string
}

/** Job ids, by kind. */
export const jobIds = {
  /** Attempt `attempt` of a step. */
  step: (runId: string, step: string, attempt: number) => `s~${runId}~${step}~${attempt}`,
  /** Resumes a step after its await at `pos` resolved. */
  resume: (runId: string, step: string, attempt: number, pos: number) => `r~${runId}~${step}~${attempt}~${pos}`,
  /** Fires a time await. */
  time: (runId: string, step: string, attempt: number, pos: number) => `w~${runId}~${step}~${attempt}~${pos}`,
  /** Times an await out. */
  timeout: (runId: string, step: string, attempt: number, pos: number) => `x~${runId}~${step}~${attempt}~${pos}`,
  /** Asks flow control again for a queued run (at `at`, store-clock ms). */
  /** `n`: how many times the run was found still waiting (0: its first admit job). */
  admit: (runId: string, at: number, n = 0) => (n > 0 ? `q~${runId}~${at}~${n}` : `q~${runId}~${at}`),
  /** Picks up a rerun whose start died between writing it and queuing its first jobs (`token`: one per start call). */
  begin: (runId: string, token: string) => `b~${runId}~${token}`,
  /** Finishes a cancel whose caller died after writing it, before its log, jobs and cascade were done (`token`: one per cancel call). */
  cancel: (runId: string, token: string) => `c~${runId}~${token}`,
  /** Matches the watchers of a published event's kind again, should its publisher die before it matched them all (`token`: one per publish). */
  match: (token: string) => `m~${token}`,
  /** Finishes a resolve of a trigger of run `runId` whose process died after its write, before its resume job (`token`: one per resolve call). */
  trigger: (runId: string, token: string) => `t~${runId}~${token}`,
}

/** A job id without the re-check suffix that an early fire added (`<id>~<now>`). */
export function baseJobId(id: string, kind: JobKind): string {
  return id
    .split('~')
    .slice(0, kind === 'step' ? 4 : 5)
    .join('~')
}

/**
 * The run's own fence: held (`token`) while the run runs, gone once it ended. An append fenced by
 * it is refused once the run ended (the store checks it atomically), so an await's announcement
 * that comes late (its child written first, a cancel in between) never lands after the run's
 * terminal event. `:` keeps it apart from the steps' fences (step names have none).
 */
export const RUN_FENCE = { key: ':run', token: 'running' } as const

/**
 * The fence of an ended run: held by the lease of the execution whose write ended it
 * (`RunDoc.endedBy`), set by that write alone. The run's last appends (`step.completed`, then the
 * terminal event) ride behind that compare-and-set fenced by it: stored only when that write
 * applied, so never by a worker that lost the run. No step's or run's fence holds once it ended.
 */
export function endFence(lease: string): { key: string; token: string } {
  return { key: END_FENCE_KEY, token: lease }
}

/** The key of {@link endFence} (`:` keeps it apart from the steps' fences). */
export const END_FENCE_KEY = ':end'

/** Idempotency keys of the runner's appends (per run). */
export const keys = {
  flowStarted: 'fs',
  flowEnded: 'fe',
  started: (step: string, attempt: number) => `ss~${step}~${attempt}`,
  /** A take-over's `step.started` (`data.recovered`): one per lease, so each recovery shows once. */
  recovered: (step: string, attempt: number, lease: string) => `sv~${step}~${attempt}~${lease}`,
  completed: (step: string) => `sc~${step}`,
  failed: (step: string, attempt: number) => `sf~${step}~${attempt}`,
  retry: (step: string, attempt: number) => `sr~${step}~${attempt}`,
  awaited: (step: string, pos: number) => `sa~${step}~${pos}`,
  resumed: (step: string, pos: number) => `su~${step}~${pos}`,
  timedOut: (step: string, pos: number) => `st~${step}~${pos}`,
  user: (step: string, attempt: number, seq: number) => `u~${step}~${attempt}~${seq}`,
}
