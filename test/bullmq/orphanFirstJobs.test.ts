/**
 * A start queues its run's first jobs before it writes the run; a worker that takes one first
 * waits for the write (docs/runner.md, "Guarantees"). Starts that died in between (a parent's
 * worker SIGKILLed as it started its children) leave first jobs whose run never comes. Each held
 * a worker's slot for the whole grace a first job gives its run (10 s), ahead of every job behind
 * it: a fan-out of 200 such children on 20 slots took 10 s to repair, and up to 100 s when the
 * parent's own job came last. Now a first job holds its slot half a second at most, then goes
 * back to the queue. Real redis-server, real BullMQ queue, two runners.
 */
import { createBullMQQueue } from '@leanflow/bullmq'
import { createRedisStreamStore } from '@leanflow/redis'
import { createRunner, defineFlow } from '@leanflow/runner'
import { afterEach, expect, it } from 'vitest'
import { sleep } from '../fixtures/runnerKit.js'
import { aroundMethod } from '../helpers/aroundMethod.js'
import { useRedisServer } from '../helpers/redisServer.js'

const redis = useRedisServer({ args: ['--hz', '100'] })
const open: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const close of open.splice(0).reverse()) await close()
})

const once = defineFlow<{ n: number }>({ name: 'once', steps: { s: { handler: async (input) => input.n } } })
/** The grace a first job gives its run's write, in ms (FIRST_WRITE_GRACE_MS). */
const GRACE_MS = 10_000

it("first jobs whose start died before its write do not hold the worker's slots for their grace: a run started after them completes well within it", async () => {
  const queueName = `orphans-${Math.random().toString(36).slice(2)}`
  const queue = () => createBullMQQueue({ url: redis.url, queueName })
  const store = createRedisStreamStore({ url: redis.url, prefix: 'orph' })
  const [dyingQueue, producerQueue, workerQueue] = [queue(), queue(), queue()]
  // a producer whose run writes never land (as one killed between its enqueue and its write)
  let die: (err: Error) => void = () => {}
  const dead = new Promise<never>((_, reject) => {
    die = reject
  })
  dead.catch(() => {})
  const dying = createRunner({ store: aroundMethod(store, 'createRun', () => dead), queue: dyingQueue, flows: [once], onError: () => {} })
  const producer = createRunner({ store, queue: producerQueue, flows: [once], onError: () => {} })
  const worker = createRunner({ store, queue: workerQueue, flows: [once], concurrency: 2, onError: () => {} })
  open.push(
    () => store.close(),
    () => dyingQueue.close(),
    () => producerQueue.close(),
    () => dying.stop(),
    () => producer.stop(),
    () => worker.stop(),
    async () => die(new Error('the dying producer is gone')),
  )
  // four starts that queue their first jobs and never write their runs: ahead of the next start's job
  const t0 = Date.now()
  const orphans = Array.from({ length: 4 }, (_, n) => dying.startFlow('once', { n }))
  for (const o of orphans) o.catch(() => {})
  await sleep(200)
  const { runId } = await producer.startFlow('once', { n: 42 })
  // the worker (2 slots) takes the orphans first
  await worker.start()
  expect(await producer.result(runId, { timeout: GRACE_MS - 2000 })).toEqual({ s: 42 })
  // before: both slots held by orphans until their grace ran out, so never sooner than that
  expect(Date.now() - t0).toBeLessThan(GRACE_MS - 2000)
  expect((await store.listRuns('once')).map((r) => r.runId)).toEqual([runId])
}, 30_000)

it('a start whose write lands 9.2 s late: its first job, handed back meanwhile, finds the run within 2.5 s of the write, not a backoff later', async () => {
  const queueName = `late-${Math.random().toString(36).slice(2)}`
  const queue = () => createBullMQQueue({ url: redis.url, queueName })
  const store = createRedisStreamStore({ url: redis.url, prefix: 'late' })
  const [producerQueue, workerQueue] = [queue(), queue()]
  const LATE_MS = 9200
  let wroteAt = 0
  // the producer's write lands 9.2 s after it queued the run's first job (a producer stalled between the two)
  const late = aroundMethod(store, 'createRun', async (createRun, args) => {
    await sleep(LATE_MS)
    const out = await createRun(...args)
    wroteAt = Date.now()
    return out
  })
  const producer = createRunner({ store: late, queue: producerQueue, flows: [once], onError: () => {} })
  const worker = createRunner({ store, queue: workerQueue, flows: [once], onError: () => {} })
  open.push(
    () => store.close(),
    () => producerQueue.close(),
    () => producer.stop(),
    () => worker.stop(),
  )
  await worker.start()
  const { runId } = await producer.startFlow('once', { n: 7 })
  expect(await producer.result(runId, { timeout: '20s' })).toEqual({ s: 7 })
  const [started] = (await store.read(runId)).filter((e) => e.kind === 'step.started')
  // each hand-back asks for a delivery after half the job's age (2 s at most): about 0.5 s after
  // the write. The queue's backoff alone (1, 2, 4, 8 s, ±20%) brings the job back 12.5–18.5 s after
  // its first delivery, 3.3 s or more after the write
  expect(Number(started?.id.split('-')[0]) - wroteAt).toBeLessThan(2500)
}, 40_000)
