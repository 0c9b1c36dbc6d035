import { lateAnnouncements, lateChildren, withLateChildren } from './awaits/announcement.js'
import { announceOutputs, resumeJob } from './awaits/index.js'
import type { Outputs } from './commands.js'
import { afterComplete, afterFail, type Env } from './outputs.js'
import type { RunDoc, StepDoc } from './runDoc.js'

/**
 * One step's announcements as one output: their appends in one wave, their children started
 * together, as the suspend that recorded them did (carried one by one, a fan-out's children each
 * ended before the next started, and resumed their parent once each).
 */
function together(announcements: ReturnType<typeof announceOutputs>[], matchEvents: boolean): Outputs[] {
  if (announcements.length === 0) return []
  const out: Outputs = { appends: [announcements.flatMap((a) => a.appends.flat())], jobs: [], unwatch: [], matchEvents }
  const children = announcements.flatMap((a) => a.children ?? [])
  for (const a of announcements) out.jobs.push(...a.jobs)
  return [children.length > 0 ? { ...out, children } : out]
}

/** The announcements of the pending awaits of `step` that `jobId`'s execution recorded. */
function announcementsBy(env: Env, step: string, s: StepDoc, jobId: string): Outputs[] {
  const announced: ReturnType<typeof announceOutputs>[] = []
  let events = false
  s.records.forEach((r, pos) => {
    if (r.t === 'do' || r.state !== 'pending' || r.by !== jobId) return
    announced.push(announceOutputs(env, step, pos, r))
    events ||= r.t === 'event'
  })
  return together(announced, events)
}

/** `out` of a step that ended, after the announcements its end sent again (`lateAnnouncements`). */
function withLate(env: Env, step: string, s: StepDoc, out: Outputs): Outputs {
  const late = lateAnnouncements(step, s)
  if (late.length > 0) out.appends.unshift(...late)
  return withLateChildren(out, lateChildren(env.runId, step, s))
}

/**
 * A re-delivered job (its worker crashed or handed it back) repairs what its last changes may
 * have left undone: for every step it owns that is no longer running, the outputs of that step's
 * state, derived from the document again (they are idempotent); and names the step it was
 * running, which it then takes over (`takeOver`).
 */
export function repairOutputs(doc: RunDoc, jobId: string, env: Env): { outputs: Outputs[]; running?: string } {
  const outputs: Outputs[] = []
  let running: string | undefined
  for (const [step, s] of Object.entries(doc.steps)) {
    if (s.owner !== jobId) {
      // awaits its execution recorded in a step another job holds now (`announcedBy`)
      if (doc.status === 'running') outputs.push(...announcementsBy(env, step, s, jobId))
      continue
    }
    if (s.status === 'running') {
      running ??= step
      continue
    }
    if (s.status === 'completed') outputs.push(withLate(env, step, s, afterComplete(env, doc, step)))
    else if (s.status === 'retrying') outputs.push(afterFail(env, doc, step, s.attempt - 1))
    else if (s.status === 'failed') outputs.push(withLate(env, step, s, afterFail(env, doc, step, s.attempt)))
    else if (s.status === 'suspended') {
      const announced: ReturnType<typeof announceOutputs>[] = []
      let events = false
      for (const pos of s.waitingAll ?? [s.waitingOn ?? 0]) {
        const r = s.records[pos]
        if (!r || r.t === 'do') continue
        const out = announceOutputs(env, step, pos, r)
        // resolved (an event's too: the process that matched it may have died before queuing it) or timed out
        if (r.state !== 'pending') out.jobs.push(resumeJob(env.runId, step, s.attempt, pos))
        announced.push(out)
        events ||= r.t === 'event'
      }
      outputs.push(...together(announced, events))
    }
  }
  return doc.status === 'running' && running !== undefined ? { outputs, running } : { outputs }
}
