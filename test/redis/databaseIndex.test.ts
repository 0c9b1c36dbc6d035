// A Redis URL naming a database the server does not have (`redis://host:6379/99` on a server with
// the default 16): ioredis reports the failed SELECT as an 'error' event and then runs every
// command on database 0. The store must not write into another database than the one asked
// for: every call rejects with INVALID_ARGUMENT naming the index and the fix, and nothing lands
// in database 0. A valid index (/3) still works, in that database only.
import { isLeanflowError, type NewEvent } from '@leanflow/core'
import { createRedisStreamStore } from '@leanflow/redis'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { useRedisServer } from '../helpers/redisServer.js'

const redis = useRedisServer()
const started = (run: string): NewEvent => ({ kind: 'flow.started', flow: run, data: { name: 'f', input: null, steps: {} } })
const clients: Redis[] = []
const db = (i: number) => {
  const c = new Redis(`${redis.url}/${i}`)
  clients.push(c)
  return c
}

afterAll(async () => {
  for (const c of clients) c.disconnect()
})

describe('a Redis URL with a database index', () => {
  it('a database the server does not have: every call rejects with INVALID_ARGUMENT naming it; nothing is written to database 0', async () => {
    const store = createRedisStreamStore({ url: `${redis.url}/99`, prefix: 'baddb' })
    try {
      const calls: Array<[string, () => Promise<unknown>]> = [
        ['append', () => store.append('r1', started('r1'))],
        ['read', () => store.read('r1')],
        ['listRuns', () => store.listRuns('f')],
      ]
      for (const [what, call] of calls) {
        const err = await call().catch((e: unknown) => e)
        expect(isLeanflowError(err, 'INVALID_ARGUMENT'), `${what}: ${String(err)}`).toBe(true)
        expect((err as Error).message).toMatch(/database 99/)
      }
      expect(await db(0).keys('baddb*')).toEqual([])
    } finally {
      await store.close()
    }
  })

  it('a url ioredis cannot use (a path that is no database index, a scheme other than redis://) is refused when the store is made', () => {
    // ioredis would send SELECT NaN (its error reply crashes the process), or dial a socket file named like the url
    for (const [url, named] of [
      ['redis://user:secret@127.0.0.1:1/db', '"/db"'],
      ['redis://user:secret@127.0.0.1:1/-1', '"/-1"'],
      ['http://user:secret@127.0.0.1:1', 'no redis:// URL'],
      ['redis:/127.0.0.1:1', 'no redis:// URL'],
      // no URL at all for ioredis (its raw TypeError named nothing), and one new URL() refuses (named as given, password masked)
      ['redis://user:secret@127.0.0.1:65536', 'cannot be read (Invalid URL)'],
      ['redis://[::1', 'cannot be read (Invalid URL)'],
      ['redis//user:secret@127.0.0.1:6379', '"redis//***@127.0.0.1:6379"'],
    ] as const) {
      const err = (() => {
        try {
          return createRedisStreamStore({ url })
        } catch (e) {
          return e
        }
      })()
      expect(isLeanflowError(err, 'INVALID_ARGUMENT'), `${url}: ${String(err)}`).toBe(true)
      expect((err as Error).message).toContain(named)
      expect((err as Error).message).not.toContain('secret')
    }
  })

  it('a database the server has: used, and only it', async () => {
    const store = createRedisStreamStore({ url: `${redis.url}/3`, prefix: 'gooddb' })
    try {
      await store.append('r1', started('r1'))
      expect((await store.read('r1')).map((e) => e.kind)).toEqual(['flow.started'])
      expect(await db(0).keys('gooddb*')).toEqual([])
      expect((await db(3).keys('gooddb*')).length).toBeGreaterThan(0)
    } finally {
      await store.close()
    }
  })
})
