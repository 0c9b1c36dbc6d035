import {
  assertName,
  type CasScheduleResult,
  type DueSchedules,
  documentJson,
  invalidArgument,
  LeanflowError,
  MAX_SCHEDULE_BYTES,
  positiveInteger,
  type ScheduleRecord,
  type ScheduleStore,
} from '@leanflow/core'
import { defineScript, type RedisClient } from './internal/script.js'
import { withStoreErrors } from './internal/storeErrors.js'
import { createKeys } from './keys.js'
import { SCHEDULE_CAS_LUA, SCHEDULE_DUE_LUA } from './lua/schedules.js'

/** Options of {@link createRedisSchedules}. */
export interface RedisSchedulesOptions {
  /** The command connection (or Cluster). */
  redis: RedisClient
  /** Prefix of every key. @default 'lf' */
  prefix?: string | undefined
}

const casScript = defineScript(SCHEDULE_CAS_LUA)
const dueScript = defineScript(SCHEDULE_DUE_LUA)

/**
 * The {@link ScheduleStore} on Redis: every schedule is one field of one hash
 * (`<prefix>:{schedules}:docs`, id → `<version>|<nextRunAt>|<doc JSON>`) and, unless paused, a
 * member of one sorted set scored by its next due time (`<prefix>:{schedules}:due`); once one is
 * deleted, `<prefix>:{schedules}:floor` holds the highest version deleted, and a new schedule
 * starts above it (versions never repeat for an id). The keys share the `{schedules}` slot, so
 * a write is one Lua compare-and-set on Redis Cluster too, and
 * finding the due ones is one range query: O(log n + due), whatever the number of schedules.
 * `createRedisStreamStore()` mixes it in.
 *
 * @example
 * ```ts
 * const schedules = createRedisSchedules({ redis: new Redis(url) })
 * await schedules.casSchedule('nightly', 0, { cron: '0 3 * * *' }, Date.parse('2030-01-01T03:00:00Z')) // { ok: true, version: 1 }
 * await schedules.dueSchedules(Date.now(), 100) // { due: [], next: 1893466800000 }
 * ```
 */
export function createRedisSchedules(options: RedisSchedulesOptions, fatal?: () => LeanflowError | undefined): ScheduleStore {
  const { redis } = options
  const keys = createKeys(options.prefix ?? 'lf')
  const docs = keys.scheduleDocs()
  const due = keys.scheduleDue()
  const floor = keys.scheduleFloor()

  // every driver error reaches the caller as a LeanflowError (STORE_FULL, STORE_UNAVAILABLE, INTERNAL)
  return withStoreErrors(
    {
      async getSchedule<T>(id: string): Promise<ScheduleRecord<T> | null> {
        assertName(id, 'schedule id')
        const stored = await redis.hget(docs, id)
        return stored === null ? null : decode<T>(id, stored, docs, due)
      },
      async casSchedule<T>(id: string, expectedVersion: number, doc: T | null, nextRunAt: number | null): Promise<CasScheduleResult<T>> {
        // every check before the script: a refused write writes nothing
        assertName(id, 'schedule id')
        if (typeof expectedVersion !== 'number' || !Number.isInteger(expectedVersion) || expectedVersion < 0) {
          throw invalidArgument(`version of schedule "${id}"`, expectedVersion, 'the version read, or 0 for a new schedule')
        }
        if (nextRunAt !== null && (typeof nextRunAt !== 'number' || !Number.isFinite(nextRunAt))) {
          throw invalidArgument(`nextRunAt of schedule "${id}"`, nextRunAt, 'a time in ms, or null (never due)')
        }
        const write = doc !== null
        const json = write ? scheduleJson(id, doc) : ''
        const args = [id, expectedVersion, write ? '1' : '0', nextRunAt === null ? '' : String(nextRunAt), json]
        const reply = (await casScript.call(redis, [docs, due, floor], args)) as [number, number | string | undefined]
        if (reply[0] === 1) return { ok: true, version: Number(reply[1]) }
        return { ok: false, current: typeof reply[1] === 'string' ? decode<T>(id, reply[1], docs, due) : null }
      },
      async listSchedules<T>(): Promise<Array<ScheduleRecord<T>>> {
        // the raw reply, [field, value, …]: no object keyed by ids in between
        const flat = (await redis.call('HGETALL', docs)) as string[]
        const out: Array<ScheduleRecord<T>> = []
        for (let i = 0; i + 1 < flat.length; i += 2) {
          // one corrupt field (written by hand) is skipped, as a read skips a malformed stream entry:
          // the runner's look reports it when it comes due, `getSchedule` names it and the fix
          const rec = decodeOrUndefined<T>(flat[i] as string, flat[i + 1] as string)
          if (rec !== undefined) out.push(rec)
        }
        return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      },
      async dueSchedules(now: number, limit: number, offset = 0): Promise<DueSchedules> {
        if (typeof now !== 'number' || !Number.isFinite(now)) throw invalidArgument('dueSchedules now', now, 'a time in ms')
        positiveInteger(limit, 'dueSchedules limit')
        if (offset !== 0) positiveInteger(offset, 'dueSchedules offset')
        const [ids, next] = (await dueScript.call(redis, [due], [String(now), limit, offset])) as [string[], string | null]
        return { due: ids, next: next === null ? null : Number(next) }
      },
    },
    fatal,
    redis,
  )
}

/** A stored `<version>|<nextRunAt>|<doc JSON>` as a record (a fresh copy each time), or `undefined` when it is not one. */
function decodeOrUndefined<T>(id: string, stored: string): ScheduleRecord<T> | undefined {
  const a = stored.indexOf('|')
  const b = a < 0 ? -1 : stored.indexOf('|', a + 1)
  if (b < 0) return undefined
  const version = Number(stored.slice(0, a))
  const next = stored.slice(a + 1, b)
  const nextRunAt = next === '' ? null : Number(next)
  if (!Number.isInteger(version) || version < 1 || (nextRunAt !== null && !Number.isFinite(nextRunAt))) return undefined
  let doc: unknown
  try {
    doc = JSON.parse(stored.slice(b + 1))
  } catch {
    return undefined
  }
  return { id, version, doc: doc as T, nextRunAt }
}

/** {@link decodeOrUndefined}, or INTERNAL naming the schedule and how to remove it (it was written by hand: no release writes one). */
function decode<T>(id: string, stored: string, docs: string, due: string): ScheduleRecord<T> {
  const rec = decodeOrUndefined<T>(id, stored)
  if (rec !== undefined) return rec
  const shown = stored.length > 40 ? `${stored.slice(0, 40)}…` : stored
  throw new LeanflowError(
    'INTERNAL',
    `Schedule "${id}" is stored corrupt (${JSON.stringify(shown)} is not \`<version>|<nextRunAt>|<document JSON>\`): remove it with redis-cli HDEL ${docs} ${id} and ZREM ${due} ${id}, then set it again.`,
  )
}

/** The document's JSON, or INVALID_ARGUMENT (not JSON, or over {@link MAX_SCHEDULE_BYTES}) before anything is written. */
function scheduleJson(id: string, doc: unknown): string {
  const json = documentJson(doc, `Schedule "${id}"`, `document of schedule "${id}"`)
  const bytes = Buffer.byteLength(json, 'utf8')
  if (bytes > MAX_SCHEDULE_BYTES) {
    throw new LeanflowError(
      'INVALID_ARGUMENT',
      `Schedule "${id}" is ${bytes} bytes as JSON, over the ${MAX_SCHEDULE_BYTES}-byte limit: keep large inputs elsewhere and pass a reference.`,
    )
  }
  return json
}
