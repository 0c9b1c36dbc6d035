import { createRedisStreamStore, type RedisStreamStore } from '@leanflow/redis'
import { createMemoryQueue, createRunner, defineFlow, type Runner } from '@leanflow/runner'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { useRedisServer } from '../helpers/redisServer.js'
import { roundTrips, type SentCommand, traceRoundTrips } from '../helpers/roundTrips.js'

// The sequential Redis round trips of a ctx.invoke (docs/benchmarks.md, "An invoke's round trips,
// counted"), counted by what each command waited for (deterministic, unlike times): a runner on the
// Redis store and the memory queue, a producer starting runs and following them from its own store.
const redis = useRedisServer()
const noop = async () => null
const flows = [
  defineFlow({ name: 'one', steps: { a: { handler: noop } } }),
  defineFlow({ name: 'two', steps: { a: { handler: noop }, b: { needs: ['a'], handler: noop } } }),
  defineFlow({ name: 'call', steps: { a: { handler: async (_i, ctx) => ctx.invoke('one', {}) } } }),
]

/** Not the run's path: index writes (not awaited on a standalone Redis), the schedules' poll, `runner.result`'s reads. */
function onPath(c: SentCommand): boolean {
  if (c.args[0] === 'evalsha' && /:flow:\{|:flows$|\{schedules\}/.test(c.args[3] ?? '')) return false
  return !(c.who === 'producer' && /^(xrange|xrevrange|subscribe|unsubscribe)$/i.test(c.args[0] ?? ''))
}

describe('the round trips of ctx.invoke (Redis store, memory queue)', () => {
  const trace = traceRoundTrips()
  let worker: Runner
  let producer: Runner
  const stores: RedisStreamStore[] = []

  beforeAll(async () => {
    const workerStore = createRedisStreamStore({ url: redis.url, prefix: 'rtt' })
    const producerStore = createRedisStreamStore({ url: redis.url, prefix: 'rtt' })
    stores.push(workerStore, producerStore)
    trace.add(workerStore.redis as never, 'worker')
    trace.add(producerStore.redis as never, 'producer')
    const queue = createMemoryQueue()
    worker = createRunner({ store: workerStore, queue, flows })
    producer = createRunner({ store: producerStore, queue, flows })
    await worker.start()
  })
  afterAll(async () => {
    trace.stop()
    await worker.stop()
    for (const s of stores) await s.close()
  })

  /** The fewest round trips of `runs` runs of `flow` (a loaded machine can only split a group), less a clock ask. */
  async function tripsOf(flow: string, runs = 5): Promise<number> {
    const counts: number[] = []
    for (let i = 0; i < runs; i++) {
      trace.record()
      const { runId } = await producer.startFlow(flow, {})
      await producer.result(runId, { timeout: '10s' })
      await new Promise((r) => setTimeout(r, 20))
      const path = trace.take().filter(onPath)
      // an invoke asks the store's clock only when this worker did not measure it lately (StoreClock.recent):
      // one round trip more, counted apart
      const asked = path.some((c) => c.who === 'worker' && c.args[0] === 'time') ? 1 : 0
      counts.push(roundTrips(path) - asked)
    }
    return Math.min(...counts)
  }

  it("a one-step run: its input is read beside its claim's first read, and its last appends ride behind the write that ends it (6 round trips; 8 before)", async () => {
    await tripsOf('one', 1)
    trace.record()
    const { runId } = await producer.startFlow('one', {})
    await producer.result(runId, { timeout: '10s' })
    await new Promise((r) => setTimeout(r, 20))
    const path = trace.take().filter(onPath)
    const mine = path.filter((c) => c.who === 'worker')
    // the read of flow.started (the run's input) goes with another command of the worker, not alone
    const read = mine.find((c) => c.args[0] === 'xrange')
    expect(read).toBeDefined()
    expect(mine.filter((c) => c.tag === read?.tag).length).toBeGreaterThan(1)
    // nothing of the worker waits on the write that ends the run: its step.completed and flow.completed went with it
    const writes = mine.filter((c) => c.args[0] === 'evalsha' && c.args[3]?.endsWith(':state'))
    const last = writes.at(-1) as SentCommand
    const after = mine.slice(mine.indexOf(last) + 1)
    expect(after.map((c) => c.args[3])).toEqual([`rtt:{${runId}}:events`, `rtt:{${runId}}:events`])
    expect(after.every((c) => c.tag === last.tag)).toBe(true)
    expect(await tripsOf('one')).toBeLessThanOrEqual(6)
  }, 60_000)

  it('an invoke of a one-step child adds at most 7 round trips to a one-step run (12 before; 8 when it asks the clock), a chained step 1', async () => {
    // warm: scripts loaded, connections up
    for (const f of ['one', 'two', 'call']) await tripsOf(f, 1)
    const one = await tripsOf('one')
    const two = await tripsOf('two')
    const call = await tripsOf('call')
    expect(two - one).toBeLessThanOrEqual(1)
    expect(call - one).toBeLessThanOrEqual(7)
  }, 60_000)
})
