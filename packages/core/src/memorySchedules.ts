import { LeanflowError } from './errors.js'
import { positiveInteger } from './invalidArgument.js'
import { assertName } from './names.js'
import type { CasScheduleResult, DueSchedules, ScheduleRecord, ScheduleStore } from './scheduleStore.js'

/**
 * The largest schedule document a store keeps (its JSON, UTF-8): every store refuses a larger one,
 * and the runner refuses a definition that leaves no room under it.
 *
 * @example
 * ```ts
 * if (new TextEncoder().encode(json).length > MAX_SCHEDULE_BYTES) throw tooBig(json)
 * ```
 */
export const MAX_SCHEDULE_BYTES = 65_536

/**
 * The {@link ScheduleStore} held in memory (`tell: false`: without `onScheduleChange`, for a store
 * on a clock of the caller's): documents as JSON (a caller's later change to its
 * object changes nothing stored), the due index a sorted scan (fine for the thousands of
 * schedules a process holds). A schedule created after a delete starts above every version
 * deleted, so a writer holding a version of the deleted one never writes over the new one.
 */
export function createMemorySchedules(opts: { tell?: boolean } = {}): ScheduleStore {
  const docs = new Map<string, { version: number; json: string; nextRunAt: number | null }>()
  // the highest version a delete removed: a new schedule starts above it (versions never repeat for an id)
  let deletedTop = 0
  const listeners = new Set<() => void>()
  const changed = () => {
    for (const listener of [...listeners]) {
      try {
        listener()
      } catch {
        // a listener's failure is its own: the write stands, the other listeners are told
      }
    }
  }
  const record = <T>(id: string): ScheduleRecord<T> | null => {
    const cur = docs.get(id)
    return cur ? { id, version: cur.version, doc: JSON.parse(cur.json) as T, nextRunAt: cur.nextRunAt } : null
  }
  return {
    async getSchedule<T>(id: string) {
      return record<T>(assertName(id, 'schedule id'))
    },
    async casSchedule<T>(id: string, expectedVersion: number, doc: T | null, nextRunAt: number | null): Promise<CasScheduleResult<T>> {
      assertName(id, 'schedule id')
      if (!Number.isInteger(expectedVersion) || expectedVersion < 0) {
        throw new LeanflowError(
          'INVALID_ARGUMENT',
          `Invalid schedule version ${String(expectedVersion)}: pass the version read, or 0 for a new schedule.`,
        )
      }
      if (nextRunAt !== null && !Number.isFinite(nextRunAt)) {
        throw new LeanflowError('INVALID_ARGUMENT', `Invalid nextRunAt ${String(nextRunAt)}: pass a time in ms or null.`)
      }
      let json = ''
      if (doc !== null) {
        try {
          json = JSON.stringify(doc)
        } catch (cause) {
          throw new LeanflowError('INVALID_ARGUMENT', `Schedule "${id}" cannot be stored as JSON (${String(cause)}): pass plain data.`, {
            cause,
          })
        }
        if (json === undefined) throw new LeanflowError('INVALID_ARGUMENT', `Schedule "${id}" is not a JSON value: pass an object.`)
        const bytes = new TextEncoder().encode(json).length
        if (bytes > MAX_SCHEDULE_BYTES)
          throw new LeanflowError(
            'INVALID_ARGUMENT',
            `Schedule "${id}" is ${bytes} bytes as JSON, over the ${MAX_SCHEDULE_BYTES}-byte limit: keep large inputs elsewhere and pass a reference.`,
          )
      }
      const cur = docs.get(id)
      if ((cur?.version ?? 0) !== expectedVersion) return { ok: false, current: record<T>(id) }
      if (doc === null) {
        if (cur) {
          deletedTop = Math.max(deletedTop, cur.version)
          docs.delete(id)
          changed()
        }
        return { ok: true, version: 0 }
      }
      const version = (cur ? cur.version : deletedTop) + 1
      docs.set(id, { version, json, nextRunAt })
      changed()
      return { ok: true, version }
    },
    ...(opts.tell === false
      ? {}
      : {
          onScheduleChange(listener: () => void) {
            listeners.add(listener)
            return () => {
              listeners.delete(listener)
            }
          },
        }),
    async listSchedules<T>() {
      return [...docs.keys()].sort().map((id) => record<T>(id) as ScheduleRecord<T>)
    },
    async dueSchedules(now: number, limit: number, offset = 0): Promise<DueSchedules> {
      positiveInteger(limit, 'dueSchedules limit')
      if (offset !== 0) positiveInteger(offset, 'dueSchedules offset')
      if (typeof now !== 'number' || !Number.isFinite(now))
        throw new LeanflowError('INVALID_ARGUMENT', `Invalid dueSchedules now ${String(now)}: pass a time in ms.`)
      const timed = [...docs]
        .filter(([, d]) => d.nextRunAt !== null)
        .sort((a, b) => (a[1].nextRunAt as number) - (b[1].nextRunAt as number) || (a[0] < b[0] ? -1 : 1))
      const due = timed
        .filter(([, d]) => (d.nextRunAt as number) <= now)
        .slice(offset, offset + limit)
        .map(([id]) => id)
      const later = timed.find(([, d]) => (d.nextRunAt as number) > now)
      return { due, next: later ? (later[1].nextRunAt as number) : null }
    },
  }
}
