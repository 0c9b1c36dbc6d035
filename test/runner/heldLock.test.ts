// A queue that renews its lock on demand (`ActiveJob.renewLock`, as BullMQ's does): a ctx.do more
// than half a lock after the lock was last known held renews it first, and a lock no longer this
// worker's, or a renewal that gets no answer within a lock, hands the step back before the
// function runs (the next delivery runs it, once). Within half a lock nothing is asked. The
// lock's lapse itself on a real BullMQ queue is in test/faults/bullmq.lease.test.ts.
import { createMemoryStreamStore, type JobQueue } from '@leanflow/core'
import { createMemoryQueue, createRunner, defineFlow } from '@leanflow/runner'
import { afterEach, expect, it } from 'vitest'

const stopping: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const stop of stopping.splice(0)) await stop()
})

/** The memory queue with a lock of `lockMs` on each delivery, renewed by `renew` (its delivery's number, from 0). */
function lockedQueue(lockMs: number, renew: (delivery: number) => Promise<boolean>) {
  const handedBack: unknown[] = []
  // a hand-back is the job's throw: the queue reports it and delivers the job again
  const inner = createMemoryQueue({ redeliverDelayMs: 20, onError: (err) => handedBack.push(err) })
  const renewals: number[] = []
  let deliveries = 0
  const queue: JobQueue = {
    enqueue: (spec) => inner.enqueue(spec),
    remove: (id) => inner.remove(id),
    close: () => inner.close(),
    process: (handler, opts) =>
      inner.process((job) => {
        const delivery = deliveries++
        return handler({
          ...job,
          lockMs,
          lockedAt: Date.now(),
          renewLock: () => {
            renewals.push(delivery)
            return renew(delivery)
          },
        })
      }, opts),
  }
  return { queue, renewals, handedBack }
}

async function run(queue: JobQueue, waitMs: number) {
  const effects: number[] = []
  const flow = defineFlow({
    name: 'charge',
    steps: {
      s: {
        retry: { attempts: 1 },
        handler: async (_input, ctx) => {
          await new Promise((r) => setTimeout(r, waitMs))
          return ctx.do('pay', async () => effects.push(ctx.attempt))
        },
      },
    },
  })
  const store = createMemoryStreamStore()
  const runner = createRunner({ store, queue, flows: [flow] })
  stopping.push(async () => {
    await runner.stop()
    await store.close()
  })
  await runner.start()
  const { runId } = await runner.startFlow(flow, {})
  const result = await runner.result(runId, { timeout: '10s' })
  return { result, effects, log: await store.read(runId, { limit: 100 }) }
}

it('a lock found no longer this worker’s at the ctx.do hands the step back: the function runs once, on the next delivery, no attempt spent', async () => {
  const { queue, renewals, handedBack } = lockedQueue(400, async (delivery) => delivery > 0)
  const { result, effects, log } = await run(queue, 300) // past half the 400 ms lock
  expect(result).toEqual({ s: 1 })
  expect(effects).toEqual([1])
  expect(renewals).toEqual([0, 1])
  expect(handedBack.map(String).join('\n')).toMatch(/could not hold its queue lock \(400 ms\): it was no longer this worker’s/)
  // the same attempt again, taken over by the next delivery
  expect(log.filter((e) => e.kind === 'step.started').map((e) => e.meta?.attempt)).toEqual([1, 1])
})

it('a renewal that gets no answer within a lock hands the step back; the next delivery runs the function once', async () => {
  const { queue, renewals, handedBack } = lockedQueue(400, (delivery) =>
    delivery === 0 ? new Promise<boolean>(() => {}) : Promise.resolve(true),
  )
  const { result, effects } = await run(queue, 300)
  expect(result).toEqual({ s: 1 })
  expect(effects).toEqual([1])
  expect(renewals).toEqual([0, 1])
  expect(handedBack.map(String).join('\n')).toMatch(/its renewal got no answer within the lock/)
})

it('a ctx.do within half a lock of the lock’s take asks nothing', async () => {
  const { queue, renewals } = lockedQueue(10_000, async () => false)
  const { result, effects } = await run(queue, 50)
  expect(result).toEqual({ s: 1 })
  expect(effects).toEqual([1])
  expect(renewals).toEqual([])
})

it('a renewal that throws hands the step back with the lock error, its own as the cause; the next delivery runs the function once', async () => {
  const { queue, renewals, handedBack } = lockedQueue(400, async (delivery) => {
    if (delivery === 0) throw new Error('renewal exploded (ECONNRESET)')
    return true
  })
  const { result, effects } = await run(queue, 300)
  expect(result).toEqual({ s: 1 })
  expect(effects).toEqual([1])
  expect(renewals).toEqual([0, 1])
  const err = handedBack.find((e) => /renewal failed/.test(String(e))) as Error & { code?: string; cause?: unknown }
  expect(err?.code).toBe('STORE_UNAVAILABLE')
  expect(err.message).toMatch(/could not hold its queue lock \(400 ms\): its renewal failed \(renewal exploded \(ECONNRESET\)\)/)
  expect(String(err.cause)).toMatch(/renewal exploded/)
})
