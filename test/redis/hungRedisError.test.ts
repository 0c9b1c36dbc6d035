// A Redis that holds the connection but does not answer (CLIENT PAUSE, a stopped process): a call
// fails with STORE_UNAVAILABLE after commandTimeout, its message naming where Redis was looked
// for and that it did not answer (docs/operations.md), as a refused connection's names the url
// and its error. It said only "Command timed out". On a real redis-server.
import { createRedisStreamStore } from '@leanflow/redis'
import { expect, it } from 'vitest'
import { useRedisServer } from '../helpers/redisServer.js'

const redis = useRedisServer({ client: true })

it('a command timeout while connected names the url and says Redis did not answer', async () => {
  const store = createRedisStreamStore({ url: redis.url, prefix: 'hung', commandTimeout: 300 })
  try {
    await store.read('warm') // connected and ready
    await redis.client.call('CLIENT', 'PAUSE', '1500', 'ALL')
    const err = await store.read('x').catch((e: Error & { code?: string }) => e)
    expect(err).toMatchObject({ code: 'STORE_UNAVAILABLE' })
    expect((err as Error).message).toContain(`Redis at ${redis.url} is connected but did not answer in time`)
  } finally {
    await new Promise((r) => setTimeout(r, 1600))
    await store.close()
  }
})
