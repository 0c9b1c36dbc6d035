// Which ioredis major a vitest project really runs on. The project `integration` resolves
// ioredis 5, the project `ioredis6` ioredis 6 (vitest.config.ts). ioredis 6 speaks RESP3
// (HELLO 3) by default and 5 speaks RESP2, so Redis's CLIENT LIST (`resp=`) shows, for every
// connection, which major opened it: the store's command and subscriber connections and
// BullMQ's producer and worker connections must all be on the project's major.
import { createBullMQQueue } from '@leanflow/bullmq'
import { createRedisStreamStore } from '@leanflow/redis'
import { createRunner, defineFlow } from '@leanflow/runner'
import { Redis } from 'ioredis'
import { expect, inject, it } from 'vitest'
import { useRedisServer } from '../helpers/redisServer.js'

const major = inject('ioredisMajor')
const resp = major >= 6 ? '3' : '2'

const server = useRedisServer()

/** `name resp` of every client connection Redis sees, but `self`. */
async function clients(admin: Redis): Promise<Array<{ name: string; resp: string }>> {
  const list = (await admin.call('CLIENT', 'LIST')) as string
  const self = String(await admin.client('ID'))
  return list
    .trim()
    .split('\n')
    .map((line) => Object.fromEntries(line.split(' ').map((kv) => kv.split('=') as [string, string])))
    .filter((c) => c.id !== self)
    .map((c) => ({ name: c.name ?? '', resp: c.resp ?? '?' }))
}

it(`the ioredis client of this project is ioredis ${major} (RESP${resp})`, async () => {
  const redis = new Redis(server.url)
  try {
    const info = (await redis.call('CLIENT', 'INFO')) as string
    expect(info, info).toMatch(new RegExp(` resp=${resp}\\b`))
  } finally {
    redis.disconnect()
  }
})

it(`the Redis store, BullMQ's producer and workers and the runner all connect with ioredis ${major}`, async () => {
  const hello = defineFlow({ name: 'hello', steps: { greet: { handler: async (input: { who: string }) => `hi ${input.who}` } } })
  const store = createRedisStreamStore({ url: server.url, prefix: 'major' })
  const queue = createBullMQQueue({ url: server.url, queueName: 'major' })
  const runner = createRunner({ store, queue, flows: [hello] })
  const admin = new Redis(server.url)
  try {
    await runner.start()
    const { runId } = await runner.startFlow('hello', { who: 'redis' })
    const kinds: string[] = []
    for await (const e of store.follow(runId)) {
      kinds.push(e.kind)
      if (e.kind === 'flow.completed' || e.kind === 'flow.failed') break
    }
    expect(kinds.at(-1)).toBe('flow.completed')
    const seen = await clients(admin)
    // the store's command connection, its subscriber, and BullMQ's producer, worker and blocking connections
    expect(seen.length, JSON.stringify(seen)).toBeGreaterThanOrEqual(4)
    expect(seen.filter((c) => c.resp !== resp)).toEqual([])
    expect(seen.map((c) => c.name)).toEqual(expect.arrayContaining(['lf:major:cmd', 'lf:major:sub']))
  } finally {
    await runner.stop()
    await Promise.all([queue.close(), store.close()])
    admin.disconnect()
  }
})
