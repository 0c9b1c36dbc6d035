import { describe, expect, it } from 'vitest'
import { isLeanflowError } from './errors.js'
import { redisUrlDatabase } from './redisUrl.js'

/** The code and message `fn` throws. */
function refusal(fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    return isLeanflowError(err) ? `${err.code}: ${err.message}` : `not a LeanflowError: ${String(err)}`
  }
  return 'no throw'
}

describe('redisUrlDatabase', () => {
  it('returns the index ioredis read, or undefined for none', () => {
    expect(redisUrlDatabase('redis://h:6379/3', { db: 3 }, 'The url')).toBe(3)
    expect(redisUrlDatabase('redis://h:6379', {}, 'The url')).toBeUndefined()
    expect(redisUrlDatabase('/tmp/redis.sock', { path: '/tmp/redis.sock' }, 'The url')).toBeUndefined()
  })

  it('refuses a path that names no index and a url read as a socket path, the message beginning with the subject', () => {
    expect(refusal(() => redisUrlDatabase('redis://h:6379/db', { db: Number.NaN }, "The queue's url"))).toBe(
      `INVALID_ARGUMENT: The queue's url names no database index (its path "/db"): use redis://host:6379/<index>, an index such as 0 or 3, or leave the path out.`,
    )
    expect(refusal(() => redisUrlDatabase('redis://h:6379/-1', { db: -1 }, 'The url'))).toMatch(/path "\/-1"/)
    expect(refusal(() => redisUrlDatabase('http://h:6379', { path: 'h:6379' }, 'The Redis url http://h:6379'))).toBe(
      'INVALID_ARGUMENT: The Redis url http://h:6379 is no redis:// URL (ioredis would read it as the path of a socket file): use redis://host:6379 (rediss:// for TLS), or a socket path starting with /.',
    )
  })
})
