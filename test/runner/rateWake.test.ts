// A run kept out by a rate limit is woken by a delayed `admit` job, and a queue's delayed job can
// come some ms late (BullMQ's wait on Redis: its blocking timeouts fire on Redis's `hz` ticks). The
// job is queued RATE_WAKE_LEAD_MS ahead of the window and waits in the worker until it frees, so
// the run asks on time; it never asks before (the window decides in the store, on its clock).
import { type JobQueue, type JobSpec, reduceFlow } from '@leanflow/core'
import { createRedisStreamStore } from '@leanflow/redis'
import { createMemoryQueue, createRunner, defineFlow } from '@leanflow/runner'
import { afterEach, describe, expect, it } from 'vitest'
import { logOf, waitEnd } from '../fixtures/runnerKit.js'
import { useRedisServer } from '../helpers/redisServer.js'

const server = useRedisServer()
let close = async () => {}
afterEach(() => close())

/** The memory queue, recording when each job was asked for (by the store's clock: Redis TIME). */
function recordingQueue(now: () => Promise<number>) {
  const inner = createMemoryQueue()
  const asked: Array<{ spec: JobSpec; at: number }> = []
  const queue: JobQueue = {
    ...inner,
    async enqueue(spec) {
      asked.push({ spec, at: await now() })
      return inner.enqueue(spec)
    },
  }
  return { queue, asked, close: () => inner.close() }
}

describe('rate limit wake-up', () => {
  it('the admit job of a rate-limited run is queued ahead of its window, with the window as `due`, and the run starts once it frees', async () => {
    const store = createRedisStreamStore({ url: server.url, prefix: 'ratewake' })
    const rec = recordingQueue(() => store.now())
    const flow = defineFlow({
      name: 'rated',
      // a period long enough that the second start falls in the first one's window on a loaded machine
      rateLimit: { limit: 1, period: 2000 },
      steps: { a: { handler: async () => 'ok' } },
    })
    const runner = createRunner({ store, queue: rec.queue, flows: [flow] })
    close = async () => {
      await runner.stop()
      await rec.close()
      await store.close()
    }
    await runner.start()
    const first = await runner.startFlow('rated', {})
    const second = await runner.startFlow('rated', {})
    const queued = reduceFlow(await logOf(store, second.runId)).queued
    expect(queued?.reason).toBe('rateLimit')
    const until = Date.parse(queued?.until as string)

    const admit = rec.asked.find((a) => a.spec.name === 'admit' && (a.spec.data as { runId: string }).runId === second.runId)
    expect(admit).toBeDefined()
    const { spec, at } = admit as { spec: JobSpec; at: number }
    expect((spec.data as { due?: number }).due).toBe(until)
    // due by the queue ahead of the window: a late delivery still finds the run before its window frees
    // (`at` is read by a round trip of its own after the delay was worked out from the worker's
    // estimate of the store's clock: both off by a few ms under load, 11 ms seen at load 15 in CI)
    expect(at + (spec.delayMs ?? 0)).toBeLessThanOrEqual(until - 25)

    expect((await waitEnd(store, first.runId, 15_000)).kind).toBe('flow.completed')
    expect((await waitEnd(store, second.runId, 15_000)).kind).toBe('flow.completed')
    // never admitted before its window freed (the store's clock decides)
    const started = (await logOf(store, second.runId)).find((e) => e.kind === 'step.started')
    expect(Date.parse(started?.ts as string)).toBeGreaterThanOrEqual(until)
  })
})
