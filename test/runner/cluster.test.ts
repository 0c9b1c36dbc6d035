import { createRedisStreamStore, type RedisStreamStore } from '@leanflow/redis'
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
})
