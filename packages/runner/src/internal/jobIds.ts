import { customAlphabet } from 'nanoid'

/** 21 characters over [A-Za-z0-9]: run ids, trigger ids, leases. */
export const newId = customAlphabet('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz', 21)

/** Job names the runner routes on. */
export type JobKind = 'step' | 'resume' | 'time' | 'timeout'

/** The data of every runner job. */
export interface RunnerJobData {
  runId: string
  step: string
  /** Attempt of a `step` job. */
  attempt?: number
  /** Record position of an await job. */
  pos?: number
}

// `~` cannot appear in names, so ids never collide; no `:` (BullMQ).
/** Job id of attempt `attempt` of a step. */
export const stepJobId = (runId: string, step: string, attempt: number) => `s~${runId}~${step}~${attempt}`
/** Job id that resumes a step after its await at `pos` resolved. */
export const resumeJobId = (runId: string, step: string, attempt: number, pos: number) => `r~${runId}~${step}~${attempt}~${pos}`
/** Job id of a time await (with a suffix when it fired early and re-checks). */
export const timeJobId = (runId: string, step: string, attempt: number, pos: number) => `w~${runId}~${step}~${attempt}~${pos}`
/** Job id of an await's timeout. */
export const timeoutJobId = (runId: string, step: string, attempt: number, pos: number) => `x~${runId}~${step}~${attempt}~${pos}`

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
