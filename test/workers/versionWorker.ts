/**
 * A worker process of the version fault tests: a started runner on BullMQ (short locks, so a
 * SIGKILLed worker's job is delivered again in ~2 s; a short backoff, so a job handed back comes
 * round again soon) and the Redis store, holding the flows of `versionFlows.ts`.
 *
 * env: REDIS_URL, STORE_PREFIX, QUEUE_NAME; VERSIONS (the versions of `order` it holds, `1,2`);
 * PATCHED=1 (the `ctx.patched` deploy of `pay`); KILL=rerunEffect:<step>: inside that step's
 * `ctx.do` effect in a rerun run (its flow.started has rerunOf), it sends { type: 'checkpoint' }
 * and SIGKILLs itself; KILL=rerunCreate:before / KILL=rerunCreate:after: right before / after the
 * store writes a rerun's run (`createRun` of a flow.started with rerunOf), it sends
 * { type: 'checkpoint', at, runId } and SIGKILLs itself (the rerun's copies and first jobs not written);
 * KILL=startCreate:before / KILL=startCreate:after: the same around the write of any other run
 * (a `startFlow`'s: its first jobs queued before, nothing after); KILL=publish:stored: right after a
 * `publishEvent`'s event is stored (no watcher matched yet), KILL=publish:matched (or
 * resolve:matched): right before the resume job of a step its match (or resolve) resolved is
 * queued (the write done), it sends { type: 'checkpoint', at } and SIGKILLs itself.
 * IPC in: { type: 'rerun', runId, from?, idempotencyKey? } reruns a run (`runner.rerun`);
 * { type: 'start', flow, input?, idempotencyKey? } starts one (`runner.startFlow`), answered
 * { type: 'started', runId } or { type: 'refused', code, message }; { type: 'publish', kind, data }
 * publishes an event (`runner.publishEvent`), answered { type: 'published', id };
 * { type: 'resolve', triggerId, data } resolves a trigger (`runner.resolveTrigger`).
 * IPC out: { type: 'ready', pid, workerId }, { type: 'error', code, message } for each onError,
 * checkpoints, { type: 'closed' } after SIGTERM, then exit 0.
 */
import { hostname } from 'node:os'
import { Redis } from 'ioredis'
import { createBullMQQueue } from '../../packages/bullmq/src/index.js'
import { isLeanflowError, type JobQueue } from '../../packages/core/src/index.js'
import { createRedisStreamStore } from '../../packages/redis/src/index.js'
import { createRunner } from '../../packages/runner/src/index.js'
import { versionFlows } from './versionFlows.js'

const env = (name: string) => {
  const v = process.env[name]
  if (!v) throw new Error(`versionWorker needs ${name}`)
  return v
}
const url = env('REDIS_URL')
const prefix = env('STORE_PREFIX')
const [point = '', killStep = ''] = (process.env.KILL ?? '').split(':')
const redisStore = createRedisStreamStore({ url, prefix })
/** Sends `msg` (a checkpoint), then SIGKILLs this process. */
const die = (msg: object) => {
  process.send?.(msg, () => process.kill(process.pid, 'SIGKILL'))
  return new Promise<never>(() => {})
}
/** Dies at `point` (before / after the write) of a rerun's createRun, or of another start's; the other calls go through. */
const store = new Proxy(redisStore, {
  get(target, prop, receiver) {
    const value = Reflect.get(target, prop, receiver)
    if (typeof value !== 'function') return value
    if (prop === 'publishExternal' && point === 'publish' && killStep === 'stored')
      return async (...args: unknown[]) => {
        await value.apply(target, args)
        return die({ type: 'checkpoint', at: 'stored' })
      }
    if (prop !== 'createRun' || (point !== 'rerunCreate' && point !== 'startCreate')) return value.bind(target)
    return async (runId: string, doc: unknown, first: { data?: { rerunOf?: unknown } }, opts: unknown) => {
      const chosen = (first.data?.rerunOf !== undefined) === (point === 'rerunCreate')
      if (chosen && killStep === 'before') await die({ type: 'checkpoint', at: 'before', runId })
      const res = await value.call(target, runId, doc, first, opts)
      if (chosen && killStep === 'after') await die({ type: 'checkpoint', at: 'after', runId })
      return res
    }
  },
})
const redis = new Redis(url, { maxRetriesPerRequest: null })
redis.on('error', () => {})

const inEffect = async (runId: string, step: string) => {
  if (point !== 'rerunEffect' || step !== killStep) return
  const [first] = await store.read(runId, { limit: 1 })
  if ((first?.data as { rerunOf?: unknown } | undefined)?.rerunOf === undefined) return
  await die({ type: 'checkpoint', at: point, runId, step })
}
const onError = (err: unknown) => {
  process.send?.({
    type: 'error',
    code: isLeanflowError(err) ? err.code : 'other',
    message: err instanceof Error ? err.message : String(err),
  })
}
const bullmq = createBullMQQueue({
  url,
  queueName: env('QUEUE_NAME'),
  lockDuration: 2000,
  stalledInterval: 1000,
  backoff: { delayMs: 50, maxDelayMs: 400 },
  onError,
})
/** Dies right before a resume job is queued when KILL=publish:matched (the match that resolved its await written). */
const queue: JobQueue = {
  enqueue: async (job) => {
    if ((point === 'publish' || point === 'resolve') && killStep === 'matched' && job.name === 'resume')
      await die({ type: 'checkpoint', at: 'matched' })
    return bullmq.enqueue(job)
  },
  remove: (id) => bullmq.remove(id),
  process: (handler, opts) => bullmq.process(handler, opts),
  close: () => bullmq.close(),
}
const workerId = `${hostname()}:${process.pid}`
const runner = createRunner({
  store,
  queue,
  flows: versionFlows(redis, prefix, {
    versions: (process.env.VERSIONS ?? '1,2').split(',').map(Number),
    patched: process.env.PATCHED === '1',
    inEffect,
  }),
  concurrency: 10,
  cancelPollMs: 200,
  workerId,
  onError,
})

process.once('SIGTERM', async () => {
  await runner.stop()
  await queue.close()
  await store.close()
  redis.disconnect()
  process.send?.({ type: 'closed' })
  process.exit(0)
})

process.on(
  'message',
  (m: {
    type?: string
    runId?: string
    from?: string
    idempotencyKey?: string
    flow?: string
    input?: unknown
    kind?: string
    data?: unknown
    triggerId?: string
  }) => {
    if (m.type === 'start' && m.flow) {
      const opts = m.idempotencyKey === undefined ? {} : { idempotencyKey: m.idempotencyKey }
      runner.startFlow(m.flow, m.input ?? {}, opts).then(
        (r) => process.send?.({ type: 'started', ...r }),
        (err: unknown) => process.send?.({ type: 'refused', code: isLeanflowError(err) ? err.code : 'other', message: String(err) }),
      )
      return
    }
    if (m.type === 'resolve' && typeof m.triggerId === 'string') {
      runner.resolveTrigger(m.triggerId, m.data).then(() => process.send?.({ type: 'resolved' }), onError)
      return
    }
    if (m.type === 'publish' && typeof m.kind === 'string') {
      runner.publishEvent({ kind: m.kind, data: m.data }).then((r) => process.send?.({ type: 'published', ...r }), onError)
      return
    }
    if (m.type !== 'rerun' || !m.runId) return
    const opts = {
      ...(m.from === undefined ? {} : { from: m.from }),
      ...(m.idempotencyKey === undefined ? {} : { idempotencyKey: m.idempotencyKey }),
    }
    runner.rerun(m.runId, opts).then((r) => process.send?.({ type: 'rerun', ...r }), onError)
  },
)

await runner.start()
process.send?.({ type: 'ready', pid: process.pid, workerId })
