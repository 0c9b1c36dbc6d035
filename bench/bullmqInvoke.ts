// BullMQ's own invoke: `pnpm build && TSX_TSCONFIG_PATH=bench/tsconfig.json node --import tsx bench/bullmqInvoke.ts [--runs 60] [--rounds 7] [--hz 100]`
//
// The anchor for composition's "invoke round trip ≤ 3× a chained step" (design/composition.md):
// what the same round trip costs BullMQ itself, on its own redis-server, measured the way
// bench/composition.ts measures leanflow — `runs` runs one at a time of each of:
//   one    a job with a no-op handler
//   two    a job whose handler adds the next job (a chain of two)
//   call   a parent job that adds a child job (`parent` option, a no-op handler), moves itself
//          to waiting-children and, when the child has completed, runs again and ends with the
//          child's value — BullMQ's documented pattern for a job that waits on a child it starts
//          ("process step jobs": `job.moveToWaitingChildren(token)` + `WaitingChildrenError`)
// each awaited to its last job's `completed` event (QueueEvents), rounds turning the order,
// medians of the rounds. A chained step is ms(two) − ms(one); the round trip ms(call) −
// ms(one), as in composition.ts; the ratio is BullMQ's own. Prints one JSON object.
import { Queue, QueueEvents, WaitingChildrenError, Worker } from 'bullmq'
import { startRedis } from '../test/helpers/redisServer.js'
import { arg, median, round } from './lib/stats.js'

async function main() {
  const runs = arg('runs', 60)
  const rounds = arg('rounds', 7)
  const hz = arg('hz', 100)
  const server = await startRedis({ args: ['--hz', String(hz), '--appendonly', 'no'] })
  const connection = { url: server.url }
  const name = 'invoke'
  const queue = new Queue(name, { connection })
  const events = new QueueEvents(name, { connection })
  const waiting = new Map<string, () => void>()
  events.on('completed', ({ jobId }) => {
    waiting.get(jobId)?.()
    waiting.delete(jobId)
  })
  const done = (jobId: string) => new Promise<void>((r) => waiting.set(jobId, r))
  const worker = new Worker(
    name,
    async (job, token) => {
      if (job.name === 'one') return null
      if (job.name === 'first') {
        await queue.add('one', null, { jobId: `${job.id}-next`, removeOnComplete: true })
        return null
      }
      // 'call': start the child once, wait for it, end with its value
      if (!job.data.started) {
        await queue.add('one', null, { jobId: `${job.id}-child`, parent: { id: job.id!, queue: job.queueQualifiedName } })
        await job.updateData({ started: true })
        if (await job.moveToWaitingChildren(token!)) throw new WaitingChildrenError()
      }
      return Object.values(await job.getChildrenValues())[0] ?? null
    },
    { connection, concurrency: 25 },
  )
  await Promise.all([queue.waitUntilReady(), events.waitUntilReady(), worker.waitUntilReady()])
  let seq = 0
  const kinds = {
    one: async () => {
      const id = `one-${++seq}`
      const end = done(id)
      await queue.add('one', null, { jobId: id, removeOnComplete: true })
      await end
    },
    two: async () => {
      const id = `two-${++seq}`
      const end = done(`${id}-next`)
      await queue.add('first', null, { jobId: id, removeOnComplete: true })
      await end
    },
    call: async () => {
      const id = `call-${++seq}`
      const end = done(id)
      await queue.add('call', { started: false }, { jobId: id, removeOnComplete: true })
      await end
    },
  }
  type Kind = keyof typeof kinds
  const ms: Record<Kind, number[]> = { one: [], two: [], call: [] }
  const order: Kind[] = ['one', 'two', 'call']
  try {
    for (const k of order) for (let i = 0; i < 3 * runs; i++) await kinds[k]() // warm-up (BullMQ settles after some 100 jobs)
    for (let r = 0; r < rounds; r++) {
      const turned = [...order.slice(r % 3), ...order.slice(0, r % 3)]
      for (const k of turned) {
        const t0 = performance.now()
        for (let i = 0; i < runs; i++) await kinds[k]()
        ms[k].push((performance.now() - t0) / runs)
      }
    }
  } finally {
    await worker.close()
    await events.close()
    await queue.obliterate({ force: true }).catch(() => {})
    await queue.close()
    await server.stop()
  }
  const one = median(ms.one)
  const two = median(ms.two)
  const call = median(ms.call)
  console.log(
    JSON.stringify(
      {
        bench: 'bullmqInvoke',
        node: process.version,
        hz,
        runs,
        rounds,
        msPerRun: { one: round(one, 3), two: round(two, 3), call: round(call, 3) },
        chainedStepMs: round(two - one, 3),
        invokeRoundTripMs: round(call - one, 3),
        ratio: round((call - one) / (two - one), 2),
        rounds_: ms,
      },
      null,
      2,
    ),
  )
}

await main()
