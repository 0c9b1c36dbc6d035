/**
 * A worker process: a leanflow runner on `createBullMQQueue` and
 * `createRedisStreamStore`, executing the flows of `flows.ts`. Forked by the
 * tests through `forkWorker('runnerWorker.ts', env)`.
 *
 * env: REDIS_URL, QUEUE_NAME, STORE_PREFIX; optional LOCK_MS, STALLED_MS,
 * CONCURRENCY, DRAIN_MS (the runner's drainTimeoutMs); fault injection (first matching step only):
 * - HANG_STEP + HANG_AT=started|effect: send { type: 'checkpoint', at,
 *   runId, step } at handler entry / right after the `ctx.do` effect, then
 *   hang (the test SIGKILLs the process);
 * - HOLD_STEP + HOLD_MS: send { type: 'checkpoint', at: 'holding', … } at
 *   handler entry, then hold the step that long (the test sends SIGTERM); with LAPSE_LOCK=1 the
 *   queue's locks then lapse (PEXPIRE 1 on each, as when BullMQ's renewals fail while this
 *   worker's store reads answer), and { at: 'lapsed' } is sent before the step's `ctx.do`;
 * - STALL_STEP + STALL_MS: send { type: 'checkpoint', at: 'stalling', … } at handler entry, block
 *   the event loop that long (no lock renewal: a false stall, as a long GC pause or SIGSTOP
 *   makes), send { at: 'stalled' }, await AFTER_STALL_MS (default 0: none), and go on to the
 *   step's `ctx.do`;
 * - EFFECT_MS: each `ctx.do` effect takes that long after its INCR (a slow payment call);
 * - CLOCK_SKEW_MS: this process's clock runs that many ms off (F19).
 *
 * IPC out: { type: 'ready' }, checkpoints, { type: 'closed' } after SIGTERM
 * drained (`runner.stop()`), then exit 0.
 */
import './skewClock.js'
import { Redis } from 'ioredis'
import { createBullMQQueue } from '../../packages/bullmq/src/index.js'
import { createRedisStreamStore } from '../../packages/redis/src/index.js'
import type { StepContext } from '../../packages/runner/src/index.js'
import { createRunner } from '../../packages/runner/src/index.js'
import { makeFlows } from './flows.js'

const send = (msg: object) => process.send?.(msg)
const env = (name: string) => {
  const v = process.env[name]
  if (!v) throw new Error(`runnerWorker needs ${name}`)
  return v
}
const url = env('REDIS_URL')
const { HANG_STEP, HANG_AT, HOLD_STEP, HOLD_MS, STALL_STEP, STALL_MS, AFTER_STALL_MS } = process.env

let injected = false
const once = (ctx: StepContext, stepName: string | undefined) => {
  if (injected || ctx.step !== stepName) return false
  injected = true
  return true
}
const hang = () => new Promise<never>(() => {})

const effects = new Redis(url, { maxRetriesPerRequest: null })
effects.on('error', () => {}) // reconnects by itself (F5 restarts the server)
const flows = makeFlows(effects, {
  effectMs: Number(process.env.EFFECT_MS ?? 0),
  async onStart(ctx) {
    if (HANG_AT === 'started' && once(ctx, HANG_STEP)) {
      send({ type: 'checkpoint', at: 'started', runId: ctx.runId, step: ctx.step })
      await hang()
    }
    if (STALL_STEP && once(ctx, STALL_STEP)) {
      send({ type: 'checkpoint', at: 'stalling', runId: ctx.runId, step: ctx.step })
      const end = Date.now() + Number(STALL_MS ?? 4000)
      while (Date.now() < end) {
        // the event loop is blocked: BullMQ renews no lock, the runner polls nothing
      }
      send({ type: 'checkpoint', at: 'stalled', runId: ctx.runId, step: ctx.step })
      // an await after the stall lets the lease poll's answer come first (it must not vouch for the lapsed lock)
      if (AFTER_STALL_MS) await new Promise((r) => setTimeout(r, Number(AFTER_STALL_MS)))
    }
    if (HOLD_STEP && once(ctx, HOLD_STEP)) {
      send({ type: 'checkpoint', at: 'holding', runId: ctx.runId, step: ctx.step })
      await new Promise((r) => setTimeout(r, Number(HOLD_MS ?? 1000)))
      send({ type: 'checkpoint', at: 'held', runId: ctx.runId, step: ctx.step })
      if (process.env.LAPSE_LOCK === '1') {
        const locks = await effects.keys(`lfq:${env('QUEUE_NAME')}:*:lock`)
        // gone, as when it expires (PEXPIRE 1 would leave it a millisecond: the ctx.do's renewal could still take)
        for (const key of locks) await effects.del(key)
        send({ type: 'checkpoint', at: 'lapsed', runId: ctx.runId, step: ctx.step, locks: locks.length })
      }
    }
  },
  async afterEffect(ctx) {
    if (HANG_AT === 'effect' && once(ctx, HANG_STEP)) {
      send({ type: 'checkpoint', at: 'effect', runId: ctx.runId, step: ctx.step })
      await hang()
    }
  },
})

const onError = (err: unknown) => {
  if (process.env.QUIET !== '1') console.error(`[runnerWorker ${process.pid}]`, err instanceof Error ? err.message : err)
}
const store = createRedisStreamStore({ url, prefix: env('STORE_PREFIX') })
const queue = createBullMQQueue({
  url,
  queueName: env('QUEUE_NAME'),
  lockDuration: Number(process.env.LOCK_MS ?? 30_000),
  stalledInterval: Number(process.env.STALLED_MS ?? 30_000),
  backoff: { delayMs: 50, maxDelayMs: 1000 },
  onError,
})
const runner = createRunner({
  store,
  queue,
  flows,
  concurrency: Number(process.env.CONCURRENCY ?? 10),
  drainTimeoutMs: Number(process.env.DRAIN_MS ?? 30_000),
  onError,
})

process.once('SIGTERM', async () => {
  await runner.stop()
  await queue.close()
  await store.close()
  effects.disconnect()
  send({ type: 'closed' })
  process.exit(0)
})

await runner.start()
send({ type: 'ready', pid: process.pid })
