// F16: malformed entries written by hand (redis-cli XADD, raw XADD, raw PUBLISH) are skipped and counted.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import type { EventRecord } from '@leanflow/core'
import { type CorruptEntryInfo, createRedisStreamStore, type RedisStreamStore } from '@leanflow/redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { codeOf } from '../helpers/errorCode.js'
import { useRedisServer } from '../helpers/redisServer.js'

const run = promisify(execFile)
const server = useRedisServer({ client: true })
let store: RedisStreamStore
const reports: CorruptEntryInfo[] = []

beforeAll(async () => {
  store = createRedisStreamStore({ url: server.url, prefix: 'f16', onCorrupt: (info) => reports.push(info) })
})
afterAll(async () => {
  await store.close()
})

const good = (r: string, i: number) => store.append(r, { kind: 'tick', flow: r, data: { i } })

/** Appends good events with garbage entries between them; returns the good records and the garbage ids. */
async function seed(r: string): Promise<{ goods: EventRecord[]; bad: string[] }> {
  const key = store.keys.events(r)
  const goods: EventRecord[] = []
  const bad: string[] = []
  goods.push(await good(r, 0))
  bad.push((await run('redis-cli', ['-p', String(server.port), 'XADD', key, '*', 'e', '{not json'])).stdout.trim())
  goods.push(await good(r, 1))
  bad.push((await server.client.xadd(key, '*', 'x', 'no e field'))!)
  bad.push((await server.client.xadd(key, '*', 'e', '{"kind":"log"}'))!)
  goods.push(await good(r, 2))
  bad.push((await server.client.xadd(key, '*', 'e', '[1,2,3]'))!)
  bad.push((await server.client.xadd(key, '*', 'e', JSON.stringify({ kind: 'tick', flow: 'someone-else', data: 1 })))!)
  bad.push((await server.client.xadd(key, '*', 'e', JSON.stringify({ kind: 'tick', flow: r, step: 7, data: 1 })))!)
  // nested 5,000 deep (the runner stores no value past 512): an SSE frame of it overflowed the stack and ended the process
  const deep = `${'['.repeat(5000)}${']'.repeat(5000)}`
  bad.push((await server.client.xadd(key, '*', 'e', `{"kind":"log","flow":"${r}","data":${deep}}`))!)
  goods.push(await good(r, 3))
  return { goods, bad }
}

describe('F16: malformed stream entries', () => {
  it('read skips and counts them, in both directions, and still fills its limit', async () => {
    const r = 'readme'
    const { goods, bad } = await seed(r)
    const before = store.stats.corruptEntries
    reports.length = 0
    expect(await store.read(r)).toEqual(goods)
    expect(store.stats.corruptEntries - before).toBe(bad.length)
    expect(reports.map((x) => x.id)).toEqual(bad)
    expect(reports.every((x) => x.runId === r && x.reason.length > 0)).toBe(true)
    expect(await store.read(r, { direction: 'backward' })).toEqual([...goods].reverse())
    expect(await store.read(r, { limit: 2, after: goods[0]!.id })).toEqual(goods.slice(1, 3))
    expect(await store.read(r, { limit: 2, direction: 'backward', before: goods[3]!.id })).toEqual([goods[2], goods[1]])
  })

  it('follow skips and counts them in its backfill, ignores garbage published on the live channel, and goes on', async () => {
    const r = 'followme'
    const { goods, bad } = await seed(r)
    const before = store.stats.corruptEntries
    const seen: EventRecord[] = []
    const done = (async () => {
      for await (const e of store.follow(r)) if (seen.push(e) === 6) break
    })()
    while (seen.length < 4) await new Promise((res) => setTimeout(res, 10))
    expect(store.stats.corruptEntries - before).toBe(bad.length)
    const channel = store.keys.live(r)
    await server.client.publish(channel, 'garbage without an id')
    await server.client.publish(channel, '99999999999999-0 {not json')
    await server.client.publish(channel, `99999999999999-1 ${JSON.stringify({ kind: 'x', flow: r })}`)
    const more = [await good(r, 4), await good(r, 5)]
    await done
    expect(seen).toEqual([...goods, ...more])
  })

  it('an append after a hand-written id past any date is refused (RUN_TOO_LONG naming the fix), nothing written; XDEL + XSETID repair it', async () => {
    for (const [r, handId] of [
      ['pastdate', '8640000000000001-0'],
      ['pastdates', '99999999999999999-0'],
      ['lastid', '18446744073709551615-18446744073709551615'],
    ] as const) {
      const key = store.keys.events(r)
      const first = await good(r, 0)
      await server.client.xadd(key, handId, 'x', 'by hand')
      const err = await good(r, 1).catch((e: unknown) => e)
      expect(await codeOf(Promise.reject(err))).toBe('RUN_TOO_LONG')
      expect(String((err as Error).message)).toMatch(/XSETID/)
      expect(await codeOf(store.appendMany!(r, [{ event: { kind: 'tick', flow: r, data: 2 } }]))).toBe('RUN_TOO_LONG')
      expect(await server.client.xlen(key)).toBe(2) // the first event and the hand-written entry: nothing else
      await server.client.xdel(key, handId)
      await server.client.call('XSETID', key, first.id)
      const next = await good(r, 3)
      expect((await store.read(r)).map((e) => e.id)).toEqual([first.id, next.id])
    }
  })

  it('appends go on after a hand-written id far ahead that is still a date, with ids and ts of its millisecond', async () => {
    const r = 'lastdate'
    await good(r, 0)
    await server.client.xadd(store.keys.events(r), '8640000000000000-0', 'x', 'by hand')
    const next = await good(r, 1)
    expect([next.id, next.ts]).toEqual(['8640000000000000-1', new Date(8.64e15).toISOString()])
    expect((await store.read(r)).at(-1)).toEqual(next)
  })

  it('a read past thousands of malformed entries takes a few round trips, not one per entry', async () => {
    const r = 'manybad'
    const key = store.keys.events(r)
    const garbage = async () => {
      const p = server.client.pipeline()
      for (let i = 0; i < 3000; i++) p.xadd(key, '*', 'x', 'by hand')
      await p.exec()
    }
    const first = await good(r, 0)
    await garbage()
    const second = await good(r, 1)
    await garbage()
    // XRANGE and XREVRANGE calls the server answered so far
    const xranges = async () => {
      const stats = await server.client.info('commandstats')
      let n = 0
      for (const m of stats.matchAll(/cmdstat_xrev?range:calls=(\d+)/g)) n += Number(m[1])
      return n
    }
    const before = await xranges()
    expect(await store.read(r, { limit: 2 })).toEqual([first, second])
    expect(await store.read(r, { limit: 1, direction: 'backward' })).toEqual([second])
    expect(await store.read(r, { limit: 1, after: first.id })).toEqual([second])
    expect(await xranges()).toBeLessThan(before + 60)
  })
})
