import { createBullMQQueue } from '@leanflow/bullmq'
import { createRedisStreamStore, type RedisStreamStore } from '@leanflow/redis'
import { createRunner, defineFlow } from '@leanflow/runner'
import { Cluster } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createOrderFlow } from '../fixtures/orderFlow.js'
import { startRunner, stateOf, waitEnd, waitKind } from '../fixtures/runnerKit.js'
import { type RedisCluster, startRedisCluster } from '../helpers/redisCluster.js'

let cluster: RedisCluster
let client: Cluster
let store: RedisStreamStore

beforeAll(async () => {
  cluster = await startRedisCluster(3)
  client = new Cluster(cluster.nodes)
  store = createRedisStreamStore({ redis: client, prefix: 'rc' })
})
afterAll(async () => {
  await store.close()
  client.disconnect()
  await cluster.stop()
})

describe('the runner on a 3-master Redis Cluster', () => {
  it('runs 12 order flows (runs, triggers and events in different slots) to completion', async () => {
    const noop = async () => {}
    const flow = createOrderFlow({
      fetch: async () => ({ ok: true, status: 200, body: 1 }),
      sendNotification: noop,
      createOrder: noop,
      processPayment: noop,
      sendApprovalEmail: noop,
      notifyDelay: 20,
    })
    const runner = await startRunner(store, [flow])
    try {
      const ids = await Promise.all(
        Array.from({ length: 12 }, (_, i) => runner.startFlow('order', { url: 'u', userId: 'u', orderId: `o-${i}`, message: 'm' })),
      )
      for (const [i, { runId }] of ids.entries()) {
        await waitKind(store, runId, 'step.await.event', 'orderApproval')
        await runner.publishEvent({ kind: 'payment.confirmed', data: { orderId: `o-${i}`, amount: i } })
      }
      for (const [i, { runId }] of ids.entries()) {
        const reg = await waitKind(store, runId, 'step.await.trigger', 'externalApproval')
        await runner.resolveTrigger((reg.data as { triggerId: string }).triggerId, { approved: true, comments: `c${i}` })
      }
      for (const [i, { runId }] of ids.entries()) {
        expect((await waitEnd(store, runId)).kind).toBe('flow.completed')
        const state = await stateOf(store, runId)
        expect(state.result).toEqual({ delayedNotification: { sent: true }, externalApproval: { approved: true, comments: `c${i}` } })
        expect(state.steps.orderApproval?.result).toEqual({ approved: true, amount: i })
      }
    } finally {
      await runner.stop()
    }
  })

  it('a start on BullMQ whose write lands late: the worker (another runner) takes its first job before the run exists, waits for it, runs each step once', async () => {
    const ran: string[] = []
    const flow = defineFlow({
      name: 'late',
      steps: {
        a: { handler: async (_i, ctx) => ran.push(`${ctx.runId}:a`) },
        b: { needs: ['a'], handler: async (_i, ctx) => ran.push(`${ctx.runId}:b`) },
      },
    })
    // the producer's writes of runs land 300 ms after its first jobs were queued
    const slow = new Proxy(store, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver)
        if (prop !== 'createRun') return typeof v === 'function' ? v.bind(target) : v
        return async (...args: unknown[]) => {
          await new Promise((r) => setTimeout(r, 300))
          return v.apply(target, args)
        }
      },
    })
    const workerStore = createRedisStreamStore({ redis: client, prefix: 'rc' })
    const queue = () => createBullMQQueue({ connection: client, queueName: 'late', backoff: { delayMs: 50, maxDelayMs: 200 } })
    const [pq, wq] = [queue(), queue()]
    const producer = createRunner({ store: slow, queue: pq, flows: [flow], onError: () => {} })
    const worker = createRunner({ store: workerStore, queue: wq, flows: [flow], onError: () => {} })
    await worker.start()
    try {
      const t0 = Date.now()
      const ids = await Promise.all(Array.from({ length: 6 }, () => producer.startFlow('late', {}).then((s) => s.runId)))
      for (const id of ids) expect((await waitEnd(store, id)).kind).toBe('flow.completed')
      // waited for the writes, not for the 10 s a first job looks for a run that never comes
      expect(Date.now() - t0).toBeLessThan(5000)
      for (const id of ids) expect(ran.filter((e) => e.startsWith(`${id}:`))).toEqual([`${id}:a`, `${id}:b`])
    } finally {
      await worker.stop()
      await pq.close()
      await wq.close()
      await workerStore.close()
    }
  })
})
