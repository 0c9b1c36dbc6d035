import type { Duration } from '@leanflow/core'
import type { AnyFlow } from './types.js'

/** A tick of a schedule, as a schedule's `input` function receives it. */
export interface ScheduleTick {
  /** The schedule's id. */
  id: string
  /** When the tick was due (not when it fired). */
  at: Date
}

/**
 * A schedule's `input`: a JSON value, or a function of the tick that returns it (or a promise of
 * it). `In` is the flow's input (`defineFlow` gives its schedules the flow's input type, so a
 * schedule's input is checked as `startFlow`'s is); without one, any value. Spelled as a union
 * with a function member, not `unknown`, so that the function's `tick` is typed from here (`{}`:
 * any value but `null` and `undefined`).
 *
 * @example
 * ```ts
 * const input: ScheduleInput = (tick) => ({ tenant: 'acme', day: tick.at.toISOString().slice(0, 10) })
 * const typed: ScheduleInput<{ tenant: string }> = { tenant: 'acme' }
 * ```
 */
export type ScheduleInput<In = unknown> = unknown extends In
  ? ((tick: ScheduleTick) => unknown) | {} | null
  : ((tick: ScheduleTick) => In | PromiseLike<In>) | In

/**
 * A schedule (`In`: the flow's input; its `input` is required when the flow's input is, as
 * `startFlow(flow, input)`'s): a `cron` pattern (5 or 6 fields, seconds optional, or a nickname such as `@daily`;
 * in `tz`) or an `every`
 * duration (ticks aligned to the Unix epoch), starting a run of its flow at each tick.
 *
 * @example
 * ```ts
 * defineFlow({ name: 'report', schedules: [{ id: 'nightly', cron: '0 3 * * *', tz: 'Europe/Berlin', input: { full: true } }], steps })
 * ```
 */
export type ScheduleDefinition<In = unknown> = ScheduleFields &
  (undefined extends In
    ? {
        /**
         * The run's input: a value, or (in-code schedules only) a function of the tick, whose `tick`
         * needs no annotation: `input: (tick) => ({ day: tick.at.toISOString().slice(0, 10) })`.
         */
        input?: ScheduleInput<In> | undefined
      }
    : {
        /** The run's input (required: the flow's input is): a value, or a function of the tick. */
        input: ScheduleInput<In>
      })

/** The fields of a {@link ScheduleDefinition} besides its `input`. */
export interface ScheduleFields {
  /** Unique across the store (the name rule: letters, digits, `_`, `.`, `-`; at most 128). */
  id: string
  cron?: string | undefined
  /** An IANA time zone for `cron`. @default 'UTC' */
  tz?: string | undefined
  every?: Duration | undefined
  /** While the last run is active: start another (`allow`), record the tick as skipped (`skip`), or cancel it and start (`cancel`). @default 'allow' */
  overlap?: 'allow' | 'skip' | 'cancel' | undefined
  /** Ticks missed by more than a grace period (downtime): the most recent one (`latest`), none, or all (the last 100). @default 'latest' */
  catchUp?: 'latest' | 'none' | 'all' | undefined
}

/**
 * A stored schedule for `runner.schedules.set`: a {@link ScheduleDefinition} of the flow `flow`
 * (its `input` a value: stored schedules live in the store and outlive the process).
 *
 * @example
 * ```ts
 * await runner.schedules.set({ id: 'sync-acme', flow: 'sync', every: '15m', input: { tenant: 'acme' }, overlap: 'skip' })
 * ```
 */
export interface ScheduleSpec extends Omit<ScheduleDefinition, 'input'> {
  /** The flow the schedule starts (its highest version held): the flow or its name. */
  flow: string | AnyFlow
  /** The run's input, a JSON value (a function is `INVALID_ARGUMENT`: define such a schedule in code). */
  input?: unknown
}

/** A schedule as `runner.schedules.list()` and the HTTP API show it. */
export interface ScheduleInfo {
  id: string
  flow: string
  cron?: string
  every?: string
  tz: string
  overlap: 'allow' | 'skip' | 'cancel'
  catchUp: 'latest' | 'none' | 'all'
  /**
   * The input each tick's run starts with, when it is a value (absent without one, and for an
   * in-code function of the tick), so `schedules.set({ ...info, every: '1h' })` keeps it.
   */
  input?: unknown
  /** Defined in code (`defineFlow({ schedules })`) or stored with `schedules.set`. */
  source: 'code' | 'stored'
  paused: boolean
  /** ISO time of the next tick; `null` while paused. */
  nextRunAt: string | null
  /** The last tick it handled: the run it started, or `skipped` (overlap `skip`). */
  lastRun?: { tick: string; runId?: string; skipped?: true }
}

/**
 * `runner.schedules`: stored schedules and the in-code ones, managed from any process (no
 * `start()` needed); every started runner fires their due ticks, each exactly once.
 *
 * @example
 * ```ts
 * await runner.schedules.pause('sync-acme')
 * const { runId } = await runner.schedules.trigger('sync-acme')
 * ```
 */
export interface RunnerSchedules {
  /** Creates or replaces a stored schedule (its paused state and last run are kept). Throws `INVALID_ARGUMENT` naming a bad field, `FLOW_NOT_FOUND` for a flow this runner does not hold. */
  set(spec: ScheduleSpec): Promise<ScheduleInfo>
  /** Stops firing, on every runner. `SCHEDULE_NOT_FOUND` for an unknown id (likewise `resume` and `trigger`). */
  pause(id: string): Promise<ScheduleInfo>
  /** Fires again from the next tick after now. */
  resume(id: string): Promise<ScheduleInfo>
  /**
   * Starts a run now, outside the cadence (also while paused). An in-code `input` function that
   * throws rejects with `INVALID_ARGUMENT` naming the schedule and the thrown message (the error
   * as `cause`) and starts nothing; `POST /schedules/:id/trigger` answers it 400.
   * @example
   * ```ts
   * const { runId } = await runner.schedules.trigger('nightly')
   * ```
   */
  trigger(id: string): Promise<{ runId: string }>
  list(): Promise<ScheduleInfo[]>
  /** Deletes a stored schedule (an in-code one comes back at the next `start()`); false when there was none. */
  delete(id: string): Promise<boolean>
}
