/**
 * A child process that consumes a BullMQ queue (forked by the tests with
 * `execArgv: ['--import', 'tsx']`, cwd at the repo root so tsconfig paths
 * map `@leanflow/*` to the sources).
 *
 * env: REDIS_URL, QUEUE_NAME, LOCK_MS, STALLED_MS, CONCURRENCY.
 * IPC out: { type: 'ready' }, { type: 'active', id, deliveries, pid },
 * { type: 'done', id, pid }, { type: 'closed' }.
 * A job whose data has `holdMs` sleeps that long before it is done.
 * SIGTERM closes the queue (draining active jobs), then exits 0.
 */
import { createBullMQQueue } from '../../packages/bullmq/src/index.js'

const send = (msg: object) => process.send?.(msg)
const env = (name: string) => {
  const v = process.env[name]
  if (!v) throw new Error(`queueWorker needs ${name}`)
  return v
}

const queue = createBullMQQueue({
  url: env('REDIS_URL'),
  queueName: env('QUEUE_NAME'),
  lockDuration: Number(process.env.LOCK_MS ?? 30_000),
  stalledInterval: Number(process.env.STALLED_MS ?? 30_000),
  backoff: { delayMs: 50, maxDelayMs: 200 },
})

await queue.process(
  async (job) => {
    send({ type: 'active', id: job.id, deliveries: job.deliveries, pid: process.pid })
    const holdMs = (job.data as { holdMs?: number } | null)?.holdMs ?? 0
    if (holdMs > 0) await new Promise((r) => setTimeout(r, holdMs))
    send({ type: 'done', id: job.id, pid: process.pid })
  },
  { concurrency: Number(process.env.CONCURRENCY ?? 4) },
)

process.on('SIGTERM', async () => {
  await queue.close()
  send({ type: 'closed' })
  process.exit(0)
})
send({ type: 'ready' })
