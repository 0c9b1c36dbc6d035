/**
 * A worker process of the composition fault tests: a started runner on BullMQ (short locks, so a
 * SIGKILLed worker's job is delivered again in ~2 s) and the Redis store, holding the flows of
 * `composeFlows.ts`. Forked through `forkWorker('composeWorker.ts', env)`.
 *
 * env: REDIS_URL, STORE_PREFIX, QUEUE_NAME; optional CONCURRENCY (default 10); KILL, a point at
 * which the process sends { type: 'checkpoint', at: KILL, … } and SIGKILLs itself (a proxy on the
 * store: the call is cut off where it stands, its caller never goes on):
 * - `beforeChildCreate:N`: at the N-th `createRun` of a child run (`flow.started.data.parent`),
 *   before it is called — the parent recorded its await, the child does not exist;
 * - `afterChildCreate:N`: right after the N-th `createRun` of a child returned — the child
 *   exists, none of its jobs is queued, the parent never saw it started;
 * - `afterChildCreateHeld:N`: likewise, but the call is held (the process goes on with its other
 *   jobs) until a job other than the parent's step job owns the parent's step, suspended again
 *   (a sibling child ended and its resume job replayed the step), then the process dies;
 * - `afterPublish`: right after the first `publishExternal` returned — the event is stored, no
 *   run watching its kind was matched, the publishing step recorded nothing;
 * - `beforeWatch:N`: at the N-th `watchKind`, before it is called — an `await.event` recorded and
 *   announced, its run not yet watching the kind (its catch-up read not done);
 * - `holdWatch:N`: at the N-th `watchKind`, held 1.5 s (several of the runner's 200 ms polls of its
 *   executions, which find the step suspended), then the process dies before it is called;
 * - `afterEventResolved:N`: right after the N-th compare-and-set that stored a run's document
 *   with an `await.event` resolved (a match) returned — its step's resume job not queued yet;
 * - `atChildCancel:N`: at the N-th append of a `flow.canceled` with reason 'parent canceled',
 *   before it is called — a cascade of cancels cut off;
 * - `afterChildCanceledWrite:N`: right after the N-th compare-and-set that stored a child run's
 *   document canceled returned — its `flow.canceled` and its own cascade not carried out yet;
 * - `beforeResumed:N`: at the N-th append of a `step.resumed` (single or in `appendMany`), before
 *   it is called — e.g. an await that resolved while its step ran, its step.resumed (carried by
 *   the execution's own suspend) cut off;
 * - `afterOutcomePut:N`: right after the N-th `putChildOutcome` that named this process the teller
 *   returned — the child's outcome is in its parent's outbox, nothing folded it yet;
 * - `afterOutcomeTake:N`: right after the N-th take of an outbox returned (`takeChildOutcomes`, or
 *   a `putChildOutcome` that took it) — the teller's turn ended, the outcomes it took are in no
 *   document.
 * From the kill point on every store call of the process hangs: nothing more is written while
 * the checkpoint goes out.
 *
 * IPC in: { type: 'cancel', runId, reason? } (this process cancels the run: the cascade runs here).
 * IPC out: { type: 'ready', pid }, checkpoints, { type: 'canceled', runId } or
 * { type: 'cancelFailed', runId, error }, { type: 'closed' } after SIGTERM, then exit 0.
 */
import { Redis } from 'ioredis'
import { createBullMQQueue } from '../../packages/bullmq/src/index.js'
import type { AppendOptions, NewEvent } from '../../packages/core/src/index.js'
import { createRedisStreamStore } from '../../packages/redis/src/index.js'
import { createRunner, type RunnerStore } from '../../packages/runner/src/index.js'
import { composeFlows } from './composeFlows.js'

const env = (name: string) => {
  const v = process.env[name]
  if (!v) throw new Error(`composeWorker needs ${name}`)
  return v
}
const url = env('REDIS_URL')
const onError = (err: unknown) => {
  if (process.env.QUIET !== '1') console.error(`[composeWorker ${process.pid}]`, err instanceof Error ? err.message : err)
}
const [point = '', nth = '1'] = (process.env.KILL ?? '').split(':')
const at = Number(nth)
let seen = 0

/** Set at the kill point: every store call after it hangs, so nothing more is written before the process dies. */
let frozen = false
const hang = () => new Promise<never>(() => {})

/** Freezes the store, sends the checkpoint, then SIGKILLs this process once the message is out; never resolves. */
function die(detail: Record<string, unknown>): Promise<never> {
  frozen = true
  const kill = () => process.kill(process.pid, 'SIGKILL')
  if (process.send) process.send({ type: 'checkpoint', at: point, ...detail }, kill)
  else kill()
  return hang()
}

/** What `afterEventResolved` reads of a run's document (the runner's own shape). */
type EventDoc = { steps?: Record<string, { records: Array<{ t: string; state?: string }> }> } | null

const redisStore = createRedisStreamStore({ url, prefix: env('STORE_PREFIX') })
const isChild = (first: NewEvent) => (first.data as { parent?: unknown } | null)?.parent !== undefined
const store = new Proxy(redisStore, {
  get(target, prop, receiver) {
    const value = Reflect.get(target, prop, receiver)
    if (frozen && typeof value === 'function') return hang
    if (point === 'beforeChildCreate' && prop === 'createRun') {
      return async (runId: string, doc: unknown, first: NewEvent, opts: never) => {
        if (isChild(first) && ++seen === at) return die({ runId })
        return target.createRun(runId, doc, first, opts)
      }
    }
    if (point === 'afterChildCreateHeld' && prop === 'createRun') {
      return async (runId: string, doc: unknown, first: NewEvent, opts: never) => {
        const res = await target.createRun(runId, doc, first, opts)
        if (!isChild(first) || ++seen !== at) return res
        // the process goes on with everything else: held here until another job owns the parent's step again
        const parent = (first.data as { parent: { runId: string; step: string } }).parent
        const deadline = Date.now() + 20_000
        while (!(await ownedByAnotherJob(parent.runId, parent.step)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
        return die({ runId, parent: parent.runId })
      }
    }
    if (point === 'afterChildCreate' && prop === 'createRun') {
      return async (runId: string, doc: unknown, first: NewEvent, opts: never) => {
        const res = await target.createRun(runId, doc, first, opts)
        if (isChild(first) && ++seen === at) return die({ runId, created: res.created })
        return res
      }
    }
    if (point === 'afterPublish' && prop === 'publishExternal') {
      return async (kind: string, data: unknown, opts?: { idempotencyKey?: string }) => {
        const rec = await target.publishExternal(kind, data, opts)
        if (++seen === at) return die({ kind, id: rec.id, seq: rec.seq })
        return rec
      }
    }
    if (point === 'beforeWatch' && prop === 'watchKind') {
      return async (kind: string, runId: string) => {
        if (++seen === at) return die({ kind, runId })
        return target.watchKind(kind, runId)
      }
    }
    if (point === 'holdWatch' && prop === 'watchKind') {
      return async (kind: string, runId: string) => {
        if (++seen !== at) return target.watchKind(kind, runId)
        await new Promise((r) => setTimeout(r, 1500))
        return die({ kind, runId })
      }
    }
    if (point === 'afterEventResolved' && prop === 'casRunState') {
      return async (runId: string, expected: number, doc: EventDoc, opts: never) => {
        const res = await target.casRunState(runId, expected, doc, opts)
        const resolved = Object.values(doc?.steps ?? {}).some((st) => st.records.some((r) => r.t === 'event' && r.state === 'resolved'))
        if (res.ok && resolved && ++seen === at) return die({ runId })
        return res
      }
    }
    if (point === 'afterChildCanceledWrite' && prop === 'casRunState') {
      return async (runId: string, expected: number, doc: { status?: string; parent?: unknown } | null, opts: never) => {
        const res = await target.casRunState(runId, expected, doc, opts)
        if (res.ok && doc?.status === 'canceled' && doc.parent !== undefined && ++seen === at) return die({ runId })
        return res
      }
    }
    if (point === 'atChildCancel' && prop === 'append') {
      return async (runId: string, event: NewEvent, opts?: AppendOptions) => {
        const reason = (event.data as { reason?: unknown } | null)?.reason
        if (event.kind === 'flow.canceled' && reason === 'parent canceled' && ++seen === at) return die({ runId })
        return target.append(runId, event, opts)
      }
    }
    if ((point === 'afterOutcomePut' || point === 'afterOutcomeTake') && prop === 'putChildOutcome') {
      return async (parent: string, child: string, outcome: unknown, opts?: { take?: boolean }) => {
        const res = await (target.putChildOutcome as NonNullable<RunnerStore['putChildOutcome']>)(parent, child, outcome, opts)
        // a put that tells, or (afterOutcomeTake) one that took the outbox with it
        const counts = point === 'afterOutcomePut' ? res.tell : res.tell && res.taken !== undefined
        if (counts && ++seen === at) return die({ runId: parent, child })
        return res
      }
    }
    if (point === 'afterOutcomeTake' && prop === 'takeChildOutcomes') {
      return async (parent: string) => {
        const taken = await (target.takeChildOutcomes as NonNullable<RunnerStore['takeChildOutcomes']>)(parent)
        if (++seen === at) return die({ runId: parent, taken: taken.length })
        return taken
      }
    }
    if (point === 'beforeResumed' && prop === 'append') {
      return async (runId: string, event: NewEvent, opts?: AppendOptions) => {
        if (event.kind === 'step.resumed' && ++seen === at) return die({ runId, position: (event.data as { position?: number }).position })
        return target.append(runId, event, opts)
      }
    }
    if (point === 'beforeResumed' && prop === 'appendMany') {
      return async (runId: string, items: Array<{ event: NewEvent }>, opts?: never) => {
        for (const { event } of items) {
          if (event.kind === 'step.resumed' && ++seen === at)
            return die({ runId, position: (event.data as { position?: number }).position })
        }
        return target.appendMany?.(runId, items as never, opts)
      }
    }
    return typeof value === 'function' ? value.bind(target) : value
  },
}) as RunnerStore
/**
 * True once the step is suspended again under a job other than its step job (a resume job claimed
 * it and suspended it): a peek into the runner's document.
 */
async function ownedByAnotherJob(runId: string, step: string): Promise<boolean> {
  const rec = await redisStore.getRunState<{ steps: Record<string, { status: string; owner?: string }> }>(runId)
  const s = rec?.doc.steps[step]
  return s?.status === 'suspended' && s.owner !== undefined && !s.owner.startsWith('s~')
}
const redis = new Redis(url, { maxRetriesPerRequest: null })
redis.on('error', () => {})
const queue = createBullMQQueue({ url, queueName: env('QUEUE_NAME'), lockDuration: 2000, stalledInterval: 1000, onError })
const runner = createRunner({
  store,
  queue,
  flows: composeFlows(redis, store),
  concurrency: Number(process.env.CONCURRENCY ?? 10),
  cancelPollMs: 200,
  onError,
})

process.on('message', (msg: { type?: string; runId?: string; reason?: string }) => {
  if (msg.type !== 'cancel' || !msg.runId) return
  const runId = msg.runId
  runner.cancel(runId, msg.reason).then(
    () => process.send?.({ type: 'canceled', runId }),
    (err: unknown) => process.send?.({ type: 'cancelFailed', runId, error: String(err) }),
  )
})

process.once('SIGTERM', async () => {
  await runner.stop()
  await queue.close()
  await redisStore.close()
  redis.disconnect()
  process.send?.({ type: 'closed' })
  process.exit(0)
})

await runner.start()
process.send?.({ type: 'ready', pid: process.pid })
