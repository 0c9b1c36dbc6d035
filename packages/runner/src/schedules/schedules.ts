import { invalidArgument, isLeanflowError, LeanflowError, type ScheduleRecord, type ScheduleStore, shown } from '@leanflow/core'
import { errorMessage } from '../machine/errorMessage.js'
import { iso } from '../machine/outputs.js'
import type { RunnerSchedules, ScheduleDefinition, ScheduleInfo, ScheduleSpec } from '../scheduleTypes.js'
import { newId } from '../shell/newId.js'
import { flowNameOf, type Shell } from '../shell/shell.js'
import type { Cadence } from './cadence.js'
import { dueTicks } from './dueTicks.js'
import { inputOf } from './inputOf.js'
import { differences, lowerVersionOnly, replacedError, takenError } from './scheduleClash.js'
import { cadenceOf, type ScheduleDoc, sameCadence, scheduleDocOf, scheduleInfo } from './scheduleDoc.js'
import { createTicker } from './ticker.js'

/** How often a started runner looks for due ticks at the least (it also wakes at the next known tick). */
const POLL_MS = 1000
/** Due schedules asked for at once, and the most pages of them one look goes through. */
const BATCH = 50
/** The largest page: pages grow with the schedules left for other runners, so thousands of them cannot hide this runner's own. */
const MAX_BATCH = 1000
/** How long a schedule of a flow this runner does not hold is passed over without reading it again (a `set` or `resume` in this process looks at once). */
const ELSEWHERE_MS = 5000
const MAX_PAGES = 40
const MAX_TRIES = 100

/** What schedules need of the runner. */
export interface ScheduleDeps {
  shell: Shell
  /** Starts a run idempotently by `key`, with `flow.started.data.schedule`; resolves to its id. */
  start(flow: string, input: unknown, key: string, schedule: { id: string; tick: string }): Promise<string>
  cancel(runId: string, reason: string): Promise<void>
}

/** `runner.schedules`, plus the ticker a started runner runs. */
export interface Schedules extends RunnerSchedules {
  /** Upserts the in-code schedules and starts firing due ticks. */
  startTicking(): Promise<void>
  /** Stops firing (waits for a look in progress). */
  stopTicking(): Promise<void>
}

const definedInCode = (id: string, flow: string) =>
  new LeanflowError(
    'INVALID_ARGUMENT',
    `Schedule "${id}" is defined in code (flow "${flow}"): change it there, or pick another id (if no code defines it any more, runner.schedules.delete('${id}') first).`,
  )
const notFound = (id: string) =>
  new LeanflowError('SCHEDULE_NOT_FOUND', `Schedule "${id}" does not exist: check the id (runner.schedules.list()).`)
/** Errors of a tick's own start that retrying cannot fix (a bad input, a flow no longer defined): the tick is skipped. */
const TICK_ERRORS = ['INVALID_ARGUMENT', 'INVALID_NAME', 'PAYLOAD_TOO_LARGE', 'FLOW_NOT_FOUND'] as const

/**
 * `doc` written over the stored schedule `c`: it keeps `c`'s paused state and last run, and its
 * due time while the cadence is the same (else the first tick after `now`).
 */
function over(doc: ScheduleDoc, c: ScheduleRecord<ScheduleDoc> | null, now: number): { doc: ScheduleDoc; nextRunAt: number | null } {
  const next: ScheduleDoc = { ...doc, paused: c?.doc.paused ?? false }
  if (c?.doc.lastRun) next.lastRun = c.doc.lastRun
  const keep = c && c.nextRunAt !== null && sameCadence(c.doc, next)
  return { doc: next, nextRunAt: next.paused ? null : keep ? c.nextRunAt : cadenceOf(next).next(now) }
}

/**
 * Schedules over the store's {@link ScheduleStore}: every change is a compare-and-set of the
 * schedule's document and due time; every tick is an idempotent start keyed
 * `schedule:<id>@<tick ISO>`, so any number of runners may fire the same tick — one run.
 */
export function createSchedules(deps: ScheduleDeps): Schedules {
  const { shell } = deps
  const inCode = new Map<string, { flow: string; def: ScheduleDefinition; doc: ScheduleDoc }>()
  for (const flow of shell.flows.values()) {
    for (const def of flow.schedules ?? []) inCode.set(def.id, { flow: flow.name, def, doc: scheduleDocOf(def, flow.name, 'code') })
  }
  const ticker = createTicker(look)
  let ticking = false
  // how long a look that found no schedule sleeps: a second, or until woken on a store that tells
  // its schedules' changes (the memory store: every writer is in this process)
  let idleMs = POLL_MS
  let unwatch: (() => void) | undefined
  // `<id>@<version>` of the stored schedules this runner cannot read, and `<id>: <message>` of
  // those whose handling failed (stored corrupt, say): reported once each
  const unreadable = new Set<string>()
  /** Schedules of flows this runner does not hold, and until when to pass them over unread. */
  const elsewhere = new Map<string, number>()

  function store(): ScheduleStore {
    const s = shell.store as Partial<ScheduleStore>
    if (typeof s.casSchedule !== 'function' || typeof s.dueSchedules !== 'function') {
      throw new LeanflowError(
        'INVALID_ARGUMENT',
        'This store does not implement ScheduleStore: use createMemoryStreamStore() or createRedisStreamStore() for schedules.',
      )
    }
    return s as ScheduleStore
  }

  /** One compare-and-set loop: `fn` returns the next document and due time, `undefined` for no change. */
  async function update(
    id: string,
    fn: (cur: ScheduleRecord<ScheduleDoc> | null) => { doc: ScheduleDoc | null; nextRunAt: number | null } | undefined,
  ) {
    const s = store()
    let cur = await s.getSchedule<ScheduleDoc>(id)
    for (let i = 0; i < MAX_TRIES; i++) {
      const next = fn(cur)
      if (!next) return { cur, written: false }
      const res = await s.casSchedule(id, cur?.version ?? 0, next.doc, next.nextRunAt)
      if (res.ok) return { cur: next.doc ? { id, version: res.version, doc: next.doc, nextRunAt: next.nextRunAt } : null, written: true }
      cur = res.current
    }
    throw new Error(`Schedule ${id}: it kept changing under ${MAX_TRIES} compare-and-set tries.`)
  }

  const infoOf = (rec: ScheduleRecord<ScheduleDoc>): ScheduleInfo => scheduleInfo(rec.doc, rec.nextRunAt)

  async function setPaused(id: string, paused: boolean): Promise<ScheduleInfo> {
    const now = await shell.clock.now()
    const { cur } = await update(id, (c) => {
      if (!c) throw notFound(id)
      if (c.doc.paused === paused) return undefined
      return { doc: { ...c.doc, paused }, nextRunAt: paused ? null : cadenceOf(c.doc).next(now) }
    })
    if (!cur) throw notFound(id)
    wake()
    return infoOf(cur)
  }

  /**
   * Writes an in-code schedule's definition (keeping its paused state and last run), unless
   * another runner's code holds the id for a flow this runner does not hold (another service's
   * schedule: left as it is). That clash, a replaced in-code definition and a replaced stored
   * schedule of a flow this runner does not hold go to `onError`, with both definitions.
   */
  async function upsert(doc: ScheduleDoc, now: number) {
    let clash: LeanflowError | undefined
    await update(doc.id, (c) => {
      clash = undefined
      const next = over(doc, c, now)
      if (!c || JSON.stringify(c.doc) === JSON.stringify(next.doc)) return c ? undefined : next
      const held = shell.flows.has(c.doc.flow)
      if (c.doc.source === 'code' && !held) {
        clash = takenError(c.doc, doc)
        return undefined
      }
      // a stored edit of a flow this runner holds is replaced quietly (in-code wins); anything else is said
      if ((c.doc.source === 'code' || !held) && differences(c.doc, doc).length > 0) clash = replacedError(c.doc, doc)
      return next
    })
    if (clash) shell.onError(clash)
  }

  /**
   * The cadence of a stored schedule, or `undefined` when this runner cannot read it (a zone its
   * runtime does not know, a pattern only a newer release takes: another service wrote it): left
   * due for a runner that can, reported to `onError` once per version, so it never holds up the
   * schedules due after it.
   */
  function readCadence(rec: ScheduleRecord<ScheduleDoc>): Cadence | undefined {
    try {
      return cadenceOf(rec.doc)
    } catch (err) {
      const key = `${rec.id}@${rec.version}`
      if (!unreadable.has(key)) {
        unreadable.add(key)
        const why = errorMessage(err).replace(`Schedule "${rec.id}": `, '')
        const fix = `set it again as this runner reads it, or runner.schedules.delete('${rec.id}')`
        shell.onError(
          new LeanflowError(
            'INVALID_ARGUMENT',
            `Schedule "${rec.id}": this runner cannot read it (${why}); it is left for a runner that can (whose runtime knows its time zone, or a newer release): ${fix}.`,
            { cause: err },
          ),
        )
      }
      return undefined
    }
  }

  /**
   * Handles one due schedule: fires its due ticks (or skips them per `overlap`), then moves its due
   * time on; resolves to its next due time. `left`: a schedule this runner cannot fire (a flow it
   * does not hold, an input only the defining code computes), left due for a runner that can;
   * `gone`: no longer due.
   */
  async function fire(id: string, now: number): Promise<'left' | 'gone' | number> {
    const rec = await store().getSchedule<ScheduleDoc>(id)
    if (!rec || rec.nextRunAt === null || rec.nextRunAt > now) return 'gone'
    const doc = rec.doc
    const code = inCode.get(id)
    if (!shell.flows.has(doc.flow) || (doc.inputFn && code?.flow !== doc.flow)) {
      if (elsewhere.size >= 100_000) elsewhere.clear() // bounded
      elsewhere.set(id, now + ELSEWHERE_MS)
      return 'left'
    }
    const cadence = readCadence(rec)
    if (!cadence) return 'left'
    const plan = dueTicks(cadence, doc.catchUp, rec.nextRunAt, now)
    let lastRun = doc.lastRun
    for (const tick of plan.fire) {
      // active: not ended, whether running, awaiting or queued by flow control (a queued run counts:
      // else each tick would queue one more behind a full limit)
      const status = doc.overlap !== 'allow' && lastRun?.runId !== undefined ? (await shell.states.read(lastRun.runId))?.status : undefined
      const active = status === 'running' || status === 'queued'
      if (active && doc.overlap === 'skip') {
        lastRun = { tick, runId: lastRun?.runId as string, skipped: true }
        continue
      }
      if (active) await deps.cancel(lastRun?.runId as string, `superseded by the next tick of schedule "${id}"`).catch(() => {})
      try {
        const input = doc.inputFn ? await inputOf(id, code?.def, { id, at: new Date(tick) }) : doc.input
        // the runner stopped while the input function ran (its stop waits for it a drainTimeoutMs
        // at most): nothing more is started or moved on; a running runner fires the tick (the
        // ticks started before it in this look are started again idempotently)
        if (!ticking) return 'left'
        const runId = await deps.start(doc.flow, input, `schedule:${id}@${iso(tick)}`, { id, tick: iso(tick) })
        lastRun = { tick, runId }
      } catch (err) {
        // a store failure: tried again at the next look (nothing moved on); a bad input, a flow gone,
        // an input function that threw: the tick is skipped and reported, the schedule goes on
        if (isLeanflowError(err) && !TICK_ERRORS.some((c) => isLeanflowError(err, c))) throw err
        // typed as its cause is (INVALID_ARGUMENT for an input the flow refuses), not a bare Error
        const code = isLeanflowError(err) ? err.code : 'INVALID_ARGUMENT'
        // named once (the input function's error names the schedule too)
        const named = `Schedule "${id}": `
        const why = errorMessage(err)
        shell.onError(
          new LeanflowError(
            code,
            `${named}the tick of ${iso(tick)} started no run: ${why.startsWith(named) ? why.slice(named.length) : why}`,
            {
              cause: err,
            },
          ),
        )
        lastRun = { tick, skipped: true }
      }
    }
    // moved on only as it was read: a conflict (another runner moved it on, or it was paused, edited,
    // or deleted and set again: the store never gives an id a version twice) leaves it, the runs
    // above were idempotent; the document is compared too, for a store that restarts versions
    const moved = lastRun ? { ...doc, lastRun } : doc
    const read = JSON.stringify(doc)
    const started = lastRun?.runId !== undefined && !lastRun.skipped ? lastRun : undefined
    await update(id, (c) => {
      if (c?.version === rec.version && JSON.stringify(c.doc) === read) return { doc: moved, nextRunAt: plan.next }
      // another runner moved it on first and recorded this tick skipped (it read the last run before
      // that run ended) while this one started the tick's run: that run is the active one, recorded
      // so the next tick's overlap check sees it (else the next tick starts a run beside it)
      const theirs = c?.doc.lastRun
      if (c && started && theirs?.skipped && theirs.tick === started.tick)
        return { doc: { ...c.doc, lastRun: started }, nextRunAt: c.nextRunAt }
      return undefined
    })
    return plan.next
  }

  /**
   * {@link fire}, but a schedule that fails for a reason of its own (stored corrupt, say) is left
   * due and reported once per error, so it never holds up the schedules due after it; a store
   * that cannot be reached or is full ends the look (tried again at the next one).
   */
  async function fireOrLeave(id: string, now: number): Promise<'left' | 'gone' | number> {
    try {
      return await fire(id, now)
    } catch (err) {
      if (isLeanflowError(err, 'STORE_UNAVAILABLE') || isLeanflowError(err, 'STORE_FULL')) throw err
      const key = `${id}: ${errorMessage(err)}`
      if (unreadable.size >= 10_000) unreadable.clear() // bounded, should a message vary from look to look
      if (!unreadable.has(key)) {
        unreadable.add(key)
        shell.onError(err)
      }
      return 'left'
    }
  }

  /**
   * One look: fires what is due, page by page past the schedules left for other runners (so they
   * cannot hide this runner's own); resolves to how long to sleep: until the earliest known due
   * time — the ones it just moved on included — and at most {@link POLL_MS} (on a store that
   * tells its changes, with no schedule at all: until woken).
   */
  async function look(): Promise<number> {
    try {
      const now = await shell.clock.now()
      let left = 0
      let next = Number.POSITIVE_INFINITY
      for (let page = 0; page < MAX_PAGES; page++) {
        // as many as were left so far (at least BATCH): past 2,000 left ones in a few pages
        const size = Math.min(MAX_BATCH, Math.max(BATCH, left))
        const res = await store().dueSchedules(now, size, left)
        if (res.next !== null) next = Math.min(next, res.next)
        // from a random place in the page: runners looking at once each start on other schedules,
        // and find the ones another runner moved on already no longer due (a read, not a start)
        const from = Math.floor(Math.random() * res.due.length)
        for (const id of [...res.due.slice(from), ...res.due.slice(0, from)]) {
          const out = passedOver(id, now) ? 'left' : await fireOrLeave(id, now)
          if (out === 'left') left++
          else if (out !== 'gone') next = Math.min(next, out)
        }
        if (res.due.length < size) break
      }
      // nothing scheduled: until woken (on a store that tells its writes); else at most a second,
      // so a clock stepped forward (NTP, a resumed VM, a test's setSystemTime) is seen within it
      if (next === Number.POSITIVE_INFINITY && left === 0) return idleMs
      return Math.min(POLL_MS, Math.max(0, next - shell.clock.estimate()))
    } catch (err) {
      shell.onError(err)
      return POLL_MS
    }
  }

  /** True while schedule `id` of a flow this runner does not hold is passed over unread. */
  function passedOver(id: string, now: number): boolean {
    const until = elsewhere.get(id)
    if (until === undefined) return false
    if (until > now) return true
    elsewhere.delete(id)
    return false
  }

  /** Looks again now (a schedule was set or resumed in this process). */
  function wake() {
    elsewhere.clear()
    ticker.wake()
  }

  return {
    async set(spec: ScheduleSpec) {
      if (typeof spec !== 'object' || spec === null)
        throw new LeanflowError('INVALID_ARGUMENT', 'schedules.set needs { id, flow, cron | every, … }.')
      const flow = flowNameOf(spec.flow)
      if (typeof flow !== 'string')
        throw invalidArgument(
          `schedules.set flow of schedule ${shown(spec.id)}`,
          flow,
          "the name of a flow this runner holds ('sync'), or its flow object",
        )
      if (!shell.flows.has(flow)) {
        throw new LeanflowError(
          'FLOW_NOT_FOUND',
          `Flow "${String(flow)}" is not registered with this runner: a schedule is set by a runner that holds its flow.`,
        )
      }
      const doc = scheduleDocOf(spec, flow, 'stored')
      const code = inCode.get(doc.id)
      if (code) throw definedInCode(doc.id, code.flow)
      const now = await shell.clock.now()
      const { cur } = await update(doc.id, (c) => {
        // defined in the code of another runner on the store (this one's is refused above)
        if (c?.doc.source === 'code') throw definedInCode(doc.id, c.doc.flow)
        return over(doc, c, now)
      })
      wake()
      return infoOf(cur as ScheduleRecord<ScheduleDoc>)
    },
    pause: (id) => setPaused(id, true),
    resume: (id) => setPaused(id, false),
    async trigger(id) {
      const rec = await store().getSchedule<ScheduleDoc>(id)
      if (!rec) throw notFound(id)
      const doc = rec.doc
      if (!shell.flows.has(doc.flow))
        throw new LeanflowError('FLOW_NOT_FOUND', `Schedule "${id}" starts flow "${doc.flow}", which this runner does not hold.`)
      const code = inCode.get(id)
      if (doc.inputFn && code?.flow !== doc.flow) {
        throw new LeanflowError(
          'INVALID_ARGUMENT',
          `Schedule "${id}" computes its input in code this runner does not define: trigger it from a runner that does.`,
        )
      }
      const now = await shell.clock.now()
      const input = doc.inputFn ? await inputOf(id, code?.def, { id, at: new Date(now) }) : doc.input
      const runId = await deps.start(doc.flow, input, `schedule:${id}@manual-${newId()}`, { id, tick: iso(now) })
      return { runId }
    },
    async list() {
      return (await store().listSchedules<ScheduleDoc>()).map(infoOf)
    },
    async delete(id) {
      const { written } = await update(id, (c) => (c ? { doc: null, nextRunAt: null } : undefined))
      return written
    },
    async startTicking() {
      if (ticking) return
      for (const err of lowerVersionOnly(shell.versions)) shell.onError(err)
      if (inCode.size === 0 && typeof (shell.store as Partial<ScheduleStore>).dueSchedules !== 'function') return
      const now = await shell.clock.now()
      for (const { doc } of inCode.values()) await upsert(doc, now)
      ticking = true
      // a store wrapped so that every method answers a promise (a proxy that delays or counts
      // calls) gives no stop function: it is then polled as a store that tells nothing
      const watch = (shell.store as Partial<ScheduleStore>).onScheduleChange
      const stop: unknown = typeof watch === 'function' ? watch.call(shell.store, wake) : undefined
      if (typeof stop === 'function') {
        unwatch = stop as () => void
        idleMs = Number.POSITIVE_INFINITY
      } else if (stop instanceof Promise) stop.then((s) => typeof s === 'function' && s(), shell.onError)
      ticker.start()
    },
    async stopTicking() {
      ticking = false
      unwatch?.()
      unwatch = undefined
      idleMs = POLL_MS
      await ticker.stop()
    },
  }
}
