import type { Append, ChildStart, Outputs } from '../commands.js'
import { keys, RUN_FENCE } from '../keys.js'
import type { AwaitRec, StepDoc } from '../runDoc.js'
import { eventAnnouncement } from './event.js'
import { runAnnouncement } from './run.js'
import { timeAnnouncement } from './time.js'
import { triggerAnnouncement } from './trigger.js'

/**
 * An await's announcement (`step.await.*`), and those that go out again when its step ends: an
 * await whose announcing job may not have carried it out is announced again, idempotently, before
 * the event that closes it.
 */

/** The `step.await.*` event of a record. */
export function announcement(r: AwaitRec): { kind: string; data: Record<string, unknown> } {
  if (r.t === 'time') return timeAnnouncement(r)
  if (r.t === 'event') return eventAnnouncement(r)
  if (r.t === 'run') return runAnnouncement(r)
  return triggerAnnouncement(r)
}

/** The append announcing the await at `pos` (once per position). */
export function awaitedAppend(step: string, pos: number, r: AwaitRec): Append {
  const { kind, data } = announcement(r)
  // its call position: with several awaits pending in one step, a reader tells them apart by it
  data.position = pos
  // refused once the run ended: an announcement that comes late (see `RUN_FENCE`) is dropped, not
  // appended after the run's terminal event
  return { kind, step, data, key: keys.awaited(step, pos), attempt: r.attempt, fence: RUN_FENCE, mayRefuse: true }
}

/**
 * The announcements of step `s`'s awaits that are no longer pending and had no `step.resumed` of
 * their own, while the job that recorded them may not have announced them (`by` is still set): the
 * losers of a `Promise.race` closed with the step, or resolved after it went on. A child is
 * written before its `step.await.run`; a worker that died in between left it to its job's
 * re-delivery, which finds nothing pending once the race settled. Appended before the step's
 * `step.completed` / `step.failed` (or the run's `flow.canceled`), so the log names every child.
 *
 * @example
 * ```ts
 * closeAwaits(s, 'canceled', env.now)
 * out.appends.unshift(...lateAnnouncements(step, s)) // [] unless a loser's announcer is unconfirmed
 * ```
 */
export function lateAnnouncements(step: string, s: StepDoc): Append[][] {
  const out: Append[][] = []
  for (let pos = 0; pos < s.records.length; pos++) {
    const r = s.records[pos] as StepDoc['records'][number]
    if (r.t !== 'do' && r.state !== 'pending' && r.by !== undefined) {
      // unfenced: they go out before the event that ends the step (or the run), in order, and a
      // cancel has lifted the run's fence already
      const { fence: _, mayRefuse: __, ...plain } = awaitedAppend(step, pos, r)
      out.push([plain])
    }
  }
  return out
}

/**
 * The children named by step `s`'s late announcements ({@link lateAnnouncements}) that may never
 * have been started: an invoke whose job recorded it and died before starting the child, its
 * await closed since (a race settled, a timeout, a cancel). Started before their announcement
 * goes out again (idempotent by run id: one that exists is not started twice), so every child a
 * parent's log names exists; a canceled parent's are canceled right after (`cancelOrphans`).
 *
 * @example
 * ```ts
 * withLateChildren(out, lateChildren(env.runId, step, s)) // [] unless an invoke's announcer is unconfirmed
 * ```
 */
export function lateChildren(runId: string, step: string, s: StepDoc): ChildStart[] {
  const out: ChildStart[] = []
  s.records.forEach((r, pos) => {
    // closed without its child's end (a resolved one's child ended: it exists)
    if (r.t === 'run' && (r.state === 'canceled' || r.state === 'timedOut') && r.by !== undefined) {
      out.push({
        flow: r.flow,
        runId: r.childRunId,
        input: r.input ?? null,
        parent: { runId, step, pos },
        since: r.since,
        late: true,
        ...(r.version === undefined ? {} : { version: r.version }),
      })
    }
  })
  return out
}

/** `out` with `kids` among the children it starts. */
export function withLateChildren<O extends Outputs>(out: O, kids: ChildStart[]): O {
  if (kids.length > 0) out.children = [...(out.children ?? []), ...kids]
  return out
}

/** `step.resumed` of the await at `pos` (once per position). */
export function resumedAppend(step: string, attempt: number, pos: number, r: AwaitRec): Append {
  const reason =
    r.t === 'time' ? 'time elapsed' : r.t === 'event' ? 'event received' : r.t === 'run' ? 'child run ended' : 'trigger resolved'
  const data = { reason, awaitType: r.t, awaitDuration: Math.max(0, (r.doneAt ?? r.since) - r.since), position: pos }
  return { kind: 'step.resumed', step, data, key: keys.resumed(step, pos), attempt }
}

/**
 * The `step.resumed` of step `s`'s awaits resolved while it did not wait on them (`quiet`: a
 * trigger resolved during a retry's backoff, its payload handed over by the next attempt's
 * replay without a write): before the step's `step.completed`, so every resolved await of a
 * completed step has one. Clears `quiet`.
 *
 * @example
 * ```ts
 * out.appends.unshift(...quietResumes(step, s)) // [] unless a replay took a quiet resolution
 * ```
 */
export function quietResumes(step: string, s: StepDoc): Append[][] {
  const out: Append[][] = []
  s.records.forEach((r, pos) => {
    if (r.t === 'do' || !r.quiet) return
    delete r.quiet
    if (r.state === 'resolved') out.push([resumedAppend(step, s.attempt, pos, r)])
  })
  return out
}
