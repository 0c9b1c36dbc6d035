import { isLeanflowError } from '@leanflow/core'
import { createRedisStreamStore, type RedisStreamStore } from '@leanflow/redis'
import { uniqueName } from '@leanflow/testing'
import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { codeOf } from '../helpers/errorCode.js'
import { useRedisServer } from '../helpers/redisServer.js'

// What the ScheduleStore conformance suite cannot see on Redis: the key layout, what is stored,
// refusals only Redis makes, driver errors, and the due index at 10,000 schedules.
const server = useRedisServer()
let raw: Redis
let store: RedisStreamStore
beforeAll(() => {
  raw = new Redis(server.url)
})
afterAll(() => raw.disconnect())
afterEach(() => store?.close())
const open = () => {
  const prefix = uniqueName('s')
  store = createRedisStreamStore({ url: server.url, prefix, connectionName: prefix })
  return store
}

describe('Redis schedules', () => {
  it('keeps every schedule in two keys of the {schedules} slot: a hash of documents and a due index (and a version floor once one is deleted)', async () => {
    const s = open()
    const p = s.keys.prefix
    expect(s.keys.scheduleDocs()).toBe(`${p}:{schedules}:docs`)
    expect(s.keys.scheduleDue()).toBe(`${p}:{schedules}:due`)
    expect(s.keys.scheduleFloor()).toBe(`${p}:{schedules}:floor`)
    await s.casSchedule('nightly', 0, { cron: '0 3 * * *', note: 'a|b' }, 1500)
    await s.casSchedule('paused', 0, { cron: '* * * * *' }, null)
    expect((await raw.keys(`${p}:*`)).sort()).toEqual([`${p}:{schedules}:docs`, `${p}:{schedules}:due`])
    expect(await raw.hget(s.keys.scheduleDocs(), 'nightly')).toBe('1|1500|{"cron":"0 3 * * *","note":"a|b"}')
    expect(await raw.hget(s.keys.scheduleDocs(), 'paused')).toBe('1||{"cron":"* * * * *"}')
    expect(await raw.zrange(s.keys.scheduleDue(), 0, -1, 'WITHSCORES')).toEqual(['nightly', '1500'])
    await s.casSchedule('nightly', 1, null, null)
    await s.casSchedule('paused', 1, null, null)
    // deleted: only the version floor is left, so a schedule set again starts above the deleted one
    expect(await raw.keys(`${p}:*`)).toEqual([`${p}:{schedules}:floor`])
    expect(await raw.get(s.keys.scheduleFloor())).toBe('1')
    expect(await s.casSchedule('nightly', 0, { cron: '0 4 * * *' }, null)).toEqual({ ok: true, version: 2 })
    await s.casSchedule('nightly', 2, null, null)
    expect(await raw.get(s.keys.scheduleFloor())).toBe('2')
    await raw.del(s.keys.scheduleFloor())
  })

  it('reads schedules stored before the version floor, and sets one again above its deleted version', async () => {
    const s = open()
    // as an older release left it: no floor key
    await raw.hset(s.keys.scheduleDocs(), 'old', '7|1500|{"cron":"0 3 * * *"}')
    await raw.zadd(s.keys.scheduleDue(), 1500, 'old')
    expect(await s.getSchedule('old')).toEqual({ id: 'old', version: 7, doc: { cron: '0 3 * * *' }, nextRunAt: 1500 })
    expect(await s.casSchedule('old', 7, null, null)).toEqual({ ok: true, version: 0 })
    expect(await s.casSchedule('old', 0, { cron: '0 4 * * *' }, 2500)).toEqual({ ok: true, version: 8 })
    await raw.del(s.keys.scheduleDocs(), s.keys.scheduleDue(), s.keys.scheduleFloor())
  })

  it('refuses a dueSchedules time that is not a finite number', async () => {
    const s = open()
    for (const now of [Number.NaN, Number.POSITIVE_INFINITY, '5', undefined]) {
      expect(await codeOf(() => s.dueSchedules(now as number, 10))).toBe('INVALID_ARGUMENT')
    }
  })

  it('answers a driver error as a LeanflowError with the cause, never a raw one', async () => {
    const s = open()
    await raw.set(s.keys.scheduleDocs(), 'not a hash')
    await raw.set(s.keys.scheduleDue(), 'not a zset')
    for (const call of [
      () => s.getSchedule('a'),
      () => s.casSchedule('a', 0, {}, 1),
      () => s.listSchedules(),
      () => s.dueSchedules(1, 1),
    ]) {
      const err = await call().catch((e: unknown) => e)
      expect(isLeanflowError(err, 'INTERNAL')).toBe(true)
      expect(String((err as Error).cause)).toMatch(/WRONGTYPE/)
    }
    await raw.del(s.keys.scheduleDocs(), s.keys.scheduleDue())
  })

  it('finds the few due ones among 10,000 schedules, with the next time', async () => {
    const s = open()
    const base = 2_000_000_000_000
    const pipe = raw.pipeline()
    // written as the store writes them, in one round trip
    for (let i = 0; i < 10_000; i++) {
      const id = `s${String(i).padStart(5, '0')}`
      const at = i < 3 ? base - i : base + 1000 + i
      pipe.hset(s.keys.scheduleDocs(), id, `1|${at}|{}`).zadd(s.keys.scheduleDue(), at, id)
    }
    await pipe.exec()
    expect(await s.dueSchedules(base, 100)).toEqual({ due: ['s00002', 's00001', 's00000'], next: base + 1003 })
    expect(await s.dueSchedules(base + 1005, 2)).toEqual({ due: ['s00002', 's00001'], next: base + 1006 })
    expect((await s.listSchedules()).length).toBe(10_000)
    expect(await s.casSchedule('s00000', 1, { moved: true }, base + 1)).toEqual({ ok: true, version: 2 })
    expect(await s.dueSchedules(base, 100)).toEqual({ due: ['s00002', 's00001'], next: base + 1 })
    await raw.del(s.keys.scheduleDocs(), s.keys.scheduleDue())
  })
})
