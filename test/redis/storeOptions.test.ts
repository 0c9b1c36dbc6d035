// createRedisStreamStore refuses an option it cannot use at the call, with INVALID_ARGUMENT naming
// the option and the fix, and before it opens a connection (docs/runner.md: the factories refuse
// bad options "before anything is made or connected"). Before: `onWarning: 42` was refused after
// the store had connected (a connection nobody could close, reconnecting for ever against a
// Redis that is down, and a process that never exits); `redis: process.env.REDIS_URL` threw a raw
// TypeError ("Invalid value used in weak set"), `redis: {}` another ("redis.once is not a
// function"); `onCorrupt: 'x'` and `prefix: 5` were accepted (the handler never called, keys
// written as `5:{r1}:events`); a 1 MB prefix was echoed whole in the message. Real redis-server:
// its CLIENT LIST is the judge of what the store left open.
import { isLeanflowError } from '@leanflow/core'
import { createRedisStreamStore } from '@leanflow/redis'
import { expect, it } from 'vitest'
import { useRedisServer } from '../helpers/redisServer.js'

const redis = useRedisServer({ client: true })

/** The INVALID_ARGUMENT message createRedisStreamStore(options) throws (fails the test if it makes a store). */
function refusal(options: Record<string, unknown>): string {
  let err: unknown
  try {
    const store = createRedisStreamStore(options as never)
    void store.close()
  } catch (e) {
    err = e
  }
  expect(isLeanflowError(err, 'INVALID_ARGUMENT'), `${JSON.stringify(options).slice(0, 80)}: ${String(err)}`).toBe(true)
  return (err as Error).message
}

/** The names of the connections open on the server now. */
async function connectionNames(): Promise<string[]> {
  const list = (await redis.client.client('LIST')) as string
  return list.split('\n').flatMap((line) => /\bname=(\S+)/.exec(line)?.[1] ?? [])
}

it('refuses a callback option that is no function, and a bad prefix or connectionName, before it connects', async () => {
  const url = redis.url
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ url, onWarning: 42, connectionName: 'opt-a' }, /createRedisStreamStore onWarning 42: pass a function/],
    [{ url, onCorrupt: 'log', connectionName: 'opt-b' }, /createRedisStreamStore onCorrupt "log": pass a function/],
    [{ url, prefix: 5, connectionName: 'opt-c' }, /key prefix 5: use a string/],
    [{ url, bus: {}, connectionName: 'opt-d' }, /createRedisStreamStore bus \{\}: pass an EventBus/],
    [{ url, connectionName: 7 }, /createRedisStreamStore connectionName 7: pass a non-empty string/],
  ]
  for (const [options, message] of cases) expect(refusal(options)).toMatch(message)
  // a refused store opened nothing: no connection of any of them reached the server
  await new Promise((r) => setTimeout(r, 300))
  expect((await connectionNames()).filter((n) => n.startsWith('opt-') || n.startsWith('7:'))).toEqual([])
})

it('refuses a `redis` that is no ioredis client (a url string, options, an empty object), naming the fix', () => {
  expect(refusal({ redis: redis.url })).toMatch(/createRedisStreamStore redis "redis:\/\/.*": pass an ioredis client \(a url goes in `url`/)
  expect(refusal({ redis: { host: '127.0.0.1', port: redis.port } })).toMatch(
    /createRedisStreamStore redis .*new Redis\(url\) or new Cluster/,
  )
  expect(refusal({ redis: {} })).toMatch(/createRedisStreamStore redis \{\}/)
  expect(refusal({ url: 42 })).toMatch(/createRedisStreamStore url 42: pass a Redis URL string/)
})

it('shows a huge bad value cut, not whole', () => {
  const message = refusal({ url: redis.url, prefix: 'p:'.repeat(500_000) })
  expect(message).toMatch(/^Invalid key prefix "p:p:/)
  expect(message.length).toBeLessThan(400)
})
