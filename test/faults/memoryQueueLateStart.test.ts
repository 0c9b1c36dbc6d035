// A start on the memory queue whose write got no answer (STORE_UNAVAILABLE: Redis paused past the
// store's commandTimeout) but landed afterwards: the run runs, as on BullMQ, whose first jobs are
// queued before the write. The memory queue's are queued after such a write (it may still land);
// before, the run stayed `running` for ever with nothing queued (found by a soak: an event loop
// stalled 11 s by a heap snapshot).
import { isLeanflowError } from '@leanflow/core'
import { createRedisStreamStore } from '@leanflow/redis'
import { createRunner, defineFlow } from '@leanflow/runner'
import { afterEach, describe, expect, it } from 'vitest'
import { useRedisServer } from '../helpers/redisServer.js'

const redis = useRedisServer({ client: true })
const closers: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const close of closers.splice(0)) await close()
})

const flow = defineFlow({ name: 'late', steps: { a: { handler: async () => 'ran' }, b: { needs: ['a'], handler: async () => 'ran too' } } })

describe('a start on the memory queue whose write landed after its caller was told STORE_UNAVAILABLE', () => {
  it('runs and completes once the write lands; the start itself said it may have been written', async () => {
    const store = createRedisStreamStore({ url: redis.url, prefix: 'latestart', commandTimeout: 300 })
    const runner = createRunner({ store, flows: [flow], onError: () => {} })
    closers.push(async () => {
      await runner.stop()
      await store.close()
    })
    await runner.start()
    await runner.result((await runner.startFlow('late', {})).runId) // warm: scripts loaded, clock read
    // writes wait 1.5 s; the start gives up after 300 ms, its write queued behind the pause
    await redis.client.call('CLIENT', 'PAUSE', '1500', 'WRITE')
    const err = await runner.startFlow('late', {}, { runId: 'landed-late' }).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(isLeanflowError(err, 'STORE_UNAVAILABLE')).toBe(true)
    // the write lands when the pause ends (reads wait behind it until then), and the run goes on alone
    await new Promise((r) => setTimeout(r, 1700))
    expect(await runner.result('landed-late', { timeout: 15_000 })).toEqual({ b: 'ran too' })
  })
})
