/**
 * A worker process for the schedule fault tests: a started runner on `createRedisStreamStore`,
 * firing the store's due schedules. Forked through `forkWorker('scheduleWorker.ts', env)`.
 *
 * env: REDIS_URL, STORE_PREFIX; optional
 * - FLOWS: the flows this runner holds, comma-separated, of `tick`, `held`, `other` (default `tick`);
 *   each has one step `s` that returns `{ pid }` (the process that ran it);
 * - SCHEDULE: a ScheduleDefinition as JSON, defined in code on the flow `tick`;
 * - QUEUE=bullmq + QUEUE_NAME: createBullMQQueue instead of the runner's memory queue;
 * - HANG_AT_START=<n>: the n-th schedule start (`createRun` with `data.schedule`) of this process
 *   is stored, then the process sends { type: 'checkpoint', at: 'started', tick } and hangs
 *   there (before the schedule's due time moves on) until the test SIGKILLs it.
 *
 * IPC out: { type: 'ready', pid }, { type: 'error', message } for every runner error,
 * checkpoints, { type: 'closed' } after SIGTERM (`runner.stop()`), then exit 0.
 */
import { createBullMQQueue } from '../../packages/bullmq/src/index.js'
import { createRedisStreamStore } from '../../packages/redis/src/index.js'
import type { ScheduleDefinition } from '../../packages/runner/src/index.js'
import { createRunner } from '../../packages/runner/src/index.js'
import { scheduleFlows } from './scheduleFlows.js'

const send = (msg: object) => process.send?.(msg)
const env = (name: string) => {
  const v = process.env[name]
  if (!v) throw new Error(`scheduleWorker needs ${name}`)
  return v
}
const url = env('REDIS_URL')
const held = (process.env.FLOWS ?? 'tick').split(',').filter(Boolean)
const inCode = process.env.SCHEDULE ? [JSON.parse(process.env.SCHEDULE) as ScheduleDefinition] : undefined

const onError = (err: unknown) => send({ type: 'error', message: err instanceof Error ? err.message : String(err) })
const redisStore = createRedisStreamStore({ url, prefix: env('STORE_PREFIX') })
let starts = 0
const hangAt = Number(process.env.HANG_AT_START ?? 0)
// the store, with a hang after the n-th schedule start is stored (a kill between the run and the due time's move)
const store = new Proxy(redisStore, {
  get(target, prop, receiver) {
    const value = Reflect.get(target, prop, receiver)
    if (prop !== 'createRun' || !hangAt) return typeof value === 'function' ? value.bind(target) : value
    return async (...args: Parameters<typeof redisStore.createRun>) => {
      const res = await redisStore.createRun(...args)
      const schedule = (args[2].data as { schedule?: { tick: string } } | null)?.schedule
      if (schedule && ++starts === hangAt) {
        send({ type: 'checkpoint', at: 'started', tick: schedule.tick, created: res.created })
        await new Promise<never>(() => {})
      }
      return res
    }
  },
})
const queue =
  process.env.QUEUE === 'bullmq'
    ? createBullMQQueue({ url, queueName: env('QUEUE_NAME'), backoff: { delayMs: 50, maxDelayMs: 1000 }, onError })
    : undefined
const runner = createRunner({ store, queue, flows: scheduleFlows(held, inCode), onError })

process.once('SIGTERM', async () => {
  await runner.stop()
  await queue?.close()
  await redisStore.close()
  send({ type: 'closed' })
  process.exit(0)
})

await runner.start()
send({ type: 'ready', pid: process.pid })
