// createBullMQQueue({ url }) with a database index the server does not have (`/99` on a server
// with the default 16): BullMQ's connections report the failed SELECT as an 'error' event and
// then add jobs to database 0. The queue must not: enqueue and process reject with
// INVALID_ARGUMENT naming the index, and nothing lands in database 0. A valid index (/3) works,
// in that database only.

import { createBullMQQueue } from '@leanflow/bullmq'
import { isLeanflowError } from '@leanflow/core'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { freePort, useRedisServer } from '../helpers/redisServer.js'

const redis = useRedisServer()
const clients: Redis[] = []
const db = (i: number) => {
  const c = new Redis(`${redis.url}/${i}`)
  clients.push(c)
  return c
}
afterAll(() => {
  for (const c of clients) c.disconnect()
})

describe('createBullMQQueue with a database index in its url', () => {
  it('a database the server does not have: enqueue and process reject with INVALID_ARGUMENT naming it; nothing in database 0', async () => {
    const queue = createBullMQQueue({ url: `${redis.url}/99`, queueName: 'baddb' })
    try {
      for (const [what, call] of [
        ['enqueue', () => queue.enqueue({ id: 'j1', name: 'x', data: {} })],
        ['enqueue again', () => queue.enqueue({ id: 'j2', name: 'x', data: {} })],
        ['process', () => queue.process(async () => {})],
      ] as const) {
        const err = await (call as () => Promise<unknown>)().catch((e: unknown) => e)
        expect(isLeanflowError(err, 'INVALID_ARGUMENT'), `${what}: ${String(err)}`).toBe(true)
        expect((err as Error).message).toMatch(/database 99/)
      }
      expect(await db(0).keys('*baddb*')).toEqual([])
    } finally {
      await queue.close()
    }
  })

  it('the url is read as ioredis reads it: host:port without a scheme is database 0; a path that is no index is refused at once', async () => {
    const port = new URL(redis.url).port
    const queue = createBullMQQueue({ url: `127.0.0.1:${port}`, queueName: 'noscheme' })
    try {
      await queue.enqueue({ id: 'j1', name: 'x', data: {} })
      expect((await db(0).keys('*noscheme*')).length).toBeGreaterThan(0)
    } finally {
      await queue.close()
    }
    const local = createBullMQQueue({ url: `localhost:${port}`, queueName: 'noscheme2' })
    try {
      await local.enqueue({ id: 'j1', name: 'x', data: {} }) // not "no database <port>"
    } finally {
      await local.close()
    }
    expect(() => createBullMQQueue({ url: '' })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }))
    for (const [url, named] of [
      ['redis://127.0.0.1:1/db', '"/db"'],
      ['redis://127.0.0.1:1/-1', '"/-1"'],
      ['http://127.0.0.1:1', 'no redis:// URL'],
      ['redis:/127.0.0.1:1', 'no redis:// URL'],
      ['redis://127.0.0.1:65536', 'cannot be read (Invalid URL)'],
      ['redis://[::1', 'cannot be read (Invalid URL)'],
    ] as const) {
      expect(() => createBullMQQueue({ url }), url).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringContaining(named) }),
      )
    }
  })

  it('a database the server has: its jobs go there, and run', async () => {
    const queue = createBullMQQueue({ url: `${redis.url}/3`, queueName: 'gooddb' })
    try {
      const seen: string[] = []
      const worker = await queue.process(async (job) => {
        seen.push(job.id)
      })
      await queue.enqueue({ id: 'j1', name: 'x', data: {} })
      const t0 = Date.now()
      while (seen.length === 0 && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 20))
      expect(seen).toEqual(['j1'])
      await worker.close()
      expect(await db(0).keys('*gooddb*')).toEqual([])
      expect((await db(3).keys('*gooddb*')).length).toBeGreaterThan(0)
    } finally {
      await queue.close()
    }
  })

  it('an unreachable server: the check fails like a command, STORE_UNAVAILABLE within commandTimeout, and is asked again', async () => {
    const queue = createBullMQQueue({ url: `redis://127.0.0.1:${await freePort()}/3`, queueName: 'gone', commandTimeout: 500 })
    try {
      for (let i = 0; i < 2; i++) {
        const t0 = Date.now()
        const err = await queue.enqueue({ id: `j${i}`, name: 'x', data: {} }).catch((e: unknown) => e)
        expect(isLeanflowError(err, 'STORE_UNAVAILABLE'), String(err)).toBe(true)
        expect(Date.now() - t0).toBeLessThan(5000)
      }
    } finally {
      await queue.close()
    }
  })

  it('a worker on an unreachable server: process() fails with STORE_UNAVAILABLE naming the url and the connection error, never waits for good', async () => {
    const port = await freePort()
    const queue = createBullMQQueue({
      url: `redis://user:secret@127.0.0.1:${port}`,
      queueName: 'gone2',
      commandTimeout: 500,
      onError: () => {},
    })
    try {
      const t0 = Date.now()
      const err = await queue.process(async () => {}).catch((e: unknown) => e)
      expect(isLeanflowError(err, 'STORE_UNAVAILABLE'), String(err)).toBe(true)
      expect((err as Error).message).toMatch(
        new RegExp(`ECONNREFUSED 127\\.0\\.0\\.1:${port}\\. Is Redis running at "redis://user:\\*\\*\\*@127\\.0\\.0\\.1:${port}"\\?`),
      )
      expect(Date.now() - t0).toBeLessThan(15_000)
    } finally {
      await queue.close()
    }
  })
})
