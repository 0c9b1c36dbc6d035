/**
 * The port for schedules (`runner.schedules`): documents by id, written by compare-and-set, each
 * with the store time its next tick is due, indexed so that finding the due ones costs O(due),
 * not O(schedules). Both built-in stores implement it; a custom store that does not can still
 * run flows, only not schedules.
 */

/** A stored schedule: its document, its version (for compare-and-set) and when its next tick is due (`null`: paused). */
export interface ScheduleRecord<T = unknown> {
  id: string
  version: number
  doc: T
  nextRunAt: number | null
}

/** The outcome of {@link ScheduleStore.casSchedule}: written at `version`, or the current record on a conflict. */
export type CasScheduleResult<T = unknown> = { ok: true; version: number } | { ok: false; current: ScheduleRecord<T> | null }

/** What {@link ScheduleStore.dueSchedules} finds: the due ids, earliest first, and when the next one after them is due. */
export interface DueSchedules {
  due: string[]
  /** The earliest `nextRunAt` later than `now` (`null`: none): when to look again. */
  next: number | null
}

/**
 * Schedules in a store.
 *
 * @example
 * ```ts
 * const cur = await store.getSchedule('nightly')
 * const res = await store.casSchedule('nightly', cur?.version ?? 0, doc, nextRunAt)
 * if (!res.ok) // someone else wrote it: decide again on res.current
 * ```
 */
export interface ScheduleStore {
  /** One schedule, or `null`. */
  getSchedule<T = unknown>(id: string): Promise<ScheduleRecord<T> | null>
  /**
   * Writes `doc` as schedule `id` when its stored version is `expectedVersion` (0: absent), with
   * its due time `nextRunAt` (`null`: never due, e.g. paused) — atomically, document and index
   * together. `doc` `null` deletes it. On a conflict nothing is written and the current record
   * comes back. Versions never repeat for an id: one set again after a delete starts above every
   * version the deleted one had (a writer still holding an old version gets a conflict).
   */
  casSchedule<T = unknown>(id: string, expectedVersion: number, doc: T | null, nextRunAt: number | null): Promise<CasScheduleResult<T>>
  /** Every schedule, by id. */
  listSchedules<T = unknown>(): Promise<Array<ScheduleRecord<T>>>
  /**
   * The ids of schedules due at `now` (`nextRunAt <= now`), earliest first (ties by id), at most
   * `limit` after skipping the first `offset` (a runner pages past due schedules it cannot fire:
   * those of flows it does not hold), and when the next is due.
   */
  dueSchedules(now: number, limit: number, offset?: number): Promise<DueSchedules>
  /**
   * Optional, for a store whose every writer is in this process (the memory store): calls
   * `listener` after each write of a schedule, and returns the function that stops it. A started
   * runner then keeps no timer while there is no schedule, and looks when told (fake clocks in
   * tests move days in a few timers). Without it, the runner looks every second even then
   * (writers in other processes tell nothing).
   *
   * @example
   * ```ts
   * const stop = store.onScheduleChange?.(() => wakeTicker())
   * stop?.()
   * ```
   */
  onScheduleChange?(listener: () => void): () => void
}
