/**
 * A worker process of the flow-control fault tests: a started runner on BullMQ and the Redis
 * store, holding the flows of `limitFlows.ts`. Forked through `forkWorker('limitWorker.ts', env)`.
 *
 * env: REDIS_URL, STORE_PREFIX, QUEUE_NAME; optional CONCURRENCY (default 10);
 * DIE_BEFORE_RELEASE=1: the first time a run's end gives its slots back (`releaseLimit`), the
 * process sends { type: 'checkpoint', at: 'release', holder } and SIGKILLs itself first — the
 * run ended, its release is lost.
 * DIE_AFTER_ACQUIRE=1: the first start that the limits answer (`acquireLimit`, `debounce`) sends
 * { type: 'checkpoint', at: 'acquired', answer } and SIGKILLs the process before its run is written.
 * DIE_ON_STEP_ENQUEUE=1: the first time this process queues a step job (a hand-off of a queued
 * run admitted by a release: its state written, its jobs not yet queued), it sends
 * { type: 'checkpoint', at: 'enqueue', id } and SIGKILLs itself before the job is queued.
 * IPC in: { type: 'start', flow, input } starts a run (a producer in this process).
 * HANG_SLOT=1: the first handler of `stepOne` sends { type: 'checkpoint', at: 'slot', runId } and
 * hangs, holding its step slot (the test SIGKILLs the process). SLOT_LEASE_MS: the runner's slotLeaseMs.
 *
 * IPC out: { type: 'ready', pid }, checkpoints, { type: 'closed' } after SIGTERM, then exit 0.
 */
import { Redis } from 'ioredis'
import { createBullMQQueue } from '../../packages/bullmq/src/index.js'
import { createRedisStreamStore } from '../../packages/redis/src/index.js'
import { createRunner } from '../../packages/runner/src/index.js'
import { limitFlows } from './limitFlows.js'

const send = (msg: object) => process.send?.(msg)
const env = (name: string) => {
  const v = process.env[name]
  if (!v) throw new Error(`limitWorker needs ${name}`)
  return v
}
const url = env('REDIS_URL')
const onError = (err: unknown) => {
  if (process.env.QUIET !== '1') console.error(`[limitWorker ${process.pid}]`, err instanceof Error ? err.message : err)
}
const redisStore = createRedisStreamStore({ url, prefix: env('STORE_PREFIX') })
const die = process.env.DIE_BEFORE_RELEASE === '1'
const dieAfterAcquire = process.env.DIE_AFTER_ACQUIRE === '1'
const store = new Proxy(redisStore, {
  get(target, prop, receiver) {
    const value = Reflect.get(target, prop, receiver)
    if ((prop === 'acquireLimit' || prop === 'debounce') && dieAfterAcquire) {
      return async (...args: never[]) => {
        const answer = await (value as (...a: never[]) => Promise<unknown>).apply(target, args)
        send({ type: 'checkpoint', at: 'acquired', answer })
        await new Promise((r) => setTimeout(r, 50))
        process.kill(process.pid, 'SIGKILL')
        return new Promise<never>(() => {})
      }
    }
    if (prop !== 'releaseLimit' || !die) return typeof value === 'function' ? value.bind(target) : value
    return async (_scope: string, holder: string) => {
      send({ type: 'checkpoint', at: 'release', holder })
      await new Promise((r) => setTimeout(r, 50))
      process.kill(process.pid, 'SIGKILL')
      await new Promise<never>(() => {})
    }
  },
})
const redis = new Redis(url, { maxRetriesPerRequest: null })
redis.on('error', () => {})
const bullmq = createBullMQQueue({ url, queueName: env('QUEUE_NAME'), lockDuration: 2000, stalledInterval: 1000, onError })
let dieOnEnqueue = process.env.DIE_ON_STEP_ENQUEUE === '1'
const queue: typeof bullmq = {
  ...bullmq,
  enqueue: async (spec) => {
    if (dieOnEnqueue && spec.name === 'step') {
      dieOnEnqueue = false
      send({ type: 'checkpoint', at: 'enqueue', id: spec.id })
      await new Promise((r) => setTimeout(r, 50))
      process.kill(process.pid, 'SIGKILL')
      await new Promise<never>(() => {})
    }
    return bullmq.enqueue(spec)
  },
}
let hung = process.env.HANG_SLOT !== '1'
const onEnter = async (runId: string) => {
  if (hung) return
  hung = true
  send({ type: 'checkpoint', at: 'slot', runId })
  await new Promise<never>(() => {})
}
const runner = createRunner({
  store,
  queue,
  flows: limitFlows(redis, { onEnter }),
  concurrency: Number(process.env.CONCURRENCY ?? 10),
  slotLeaseMs: Number(process.env.SLOT_LEASE_MS ?? 30_000),
  onError,
})

process.once('SIGTERM', async () => {
  await runner.stop()
  await bullmq.close()
  await redisStore.close()
  redis.disconnect()
  send({ type: 'closed' })
  process.exit(0)
})

process.on('message', (m: { type?: string; flow?: string; input?: unknown }) => {
  if (m.type === 'start' && m.flow) runner.startFlow(m.flow, m.input).catch(onError)
})

await runner.start()
send({ type: 'ready', pid: process.pid })
