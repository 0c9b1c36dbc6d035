import { createMemoryStreamStore } from '@leanflow/core'
import { createRedisStreamStore } from '@leanflow/redis'
import type { RunnerStore } from '@leanflow/runner'
import { describe, expect, it } from 'vitest'
import { createOrderFlow } from '../fixtures/orderFlow.js'
import { startRunner, stateOf, waitEnd, waitKind } from '../fixtures/runnerKit.js'
import { useRedisServer } from '../helpers/redisServer.js'

const server = useRedisServer()

const stores: Array<[string, () => RunnerStore]> = [
  ['memory', () => createMemoryStreamStore()],
  ['Redis', () => createRedisStreamStore({ url: server.url, prefix: 'order' })],
]

describe.each(stores)('the order flow end to end on the %s store', (_label, makeStore) => {
  it('retries, waits for time, an event and a webhook; the reduced state follows each step', async () => {
    const store = makeStore()
    const calls = { fetch: 0, notify: 0, create: 0, pay: 0, email: 0 }
    const flow = createOrderFlow({
      fetch: async () => (++calls.fetch === 1 ? { ok: false, status: 503, body: null } : { ok: true, status: 200, body: { price: 42 } }),
      sendNotification: async () => void calls.notify++,
      createOrder: async () => void calls.create++,
      processPayment: async () => void calls.pay++,
      sendApprovalEmail: async () => void calls.email++,
      notifyDelay: '50ms',
    })
    const runner = await startRunner(store, [flow])
    try {
      const input = { url: 'https://api.example/price', userId: 'u-1', orderId: 'o-1', message: 'hello' }
      const { runId } = await runner.startFlow('order', input)

      await waitKind(store, runId, 'step.await.event', 'orderApproval')
      let state = await stateOf(store, runId)
      expect(state.name).toBe('order')
      expect(state.input).toEqual(input)
      expect(state.steps.fetchApi).toMatchObject({ status: 'completed', attempt: 2, result: { price: 42 } })
      expect(state.steps.orderApproval).toMatchObject({ status: 'awaiting', awaiting: { type: 'event', eventKind: 'payment.confirmed' } })
      expect(state.steps.externalApproval?.status).toBe('pending')

      await waitKind(store, runId, 'step.completed', 'delayedNotification')
      state = await stateOf(store, runId)
      expect(state.steps.delayedNotification).toMatchObject({ status: 'completed', result: { sent: true } })
      expect(state.status).toBe('awaiting')

      await runner.publishEvent({ kind: 'payment.confirmed', data: { orderId: 'o-2', amount: 1 } })
      await runner.publishEvent({ kind: 'payment.confirmed', data: { orderId: 'o-1', amount: 42 } })
      const reg = await waitKind(store, runId, 'step.await.trigger', 'externalApproval')
      const { triggerId } = reg.data as { triggerId: string }
      await waitKind(store, runId, 'log', 'externalApproval')
      state = await stateOf(store, runId)
      expect(state.steps.orderApproval).toMatchObject({ status: 'completed', result: { approved: true, amount: 42 } })
      expect(state.steps.externalApproval).toMatchObject({ awaiting: { type: 'trigger', triggerId } })
      expect(reg.data).toMatchObject({ triggerType: 'webhook', payload: { requestId: 'o-1' } })

      await expect(runner.resolveTrigger(triggerId, { approved: true, comments: 'fine' })).resolves.toEqual({
        runId,
        step: 'externalApproval',
      })
      const end = await waitEnd(store, runId)
      expect(end.kind).toBe('flow.completed')
      state = await stateOf(store, runId)
      expect(state.status).toBe('completed')
      expect(state.result).toEqual({ delayedNotification: { sent: true }, externalApproval: { approved: true, comments: 'fine' } })
      expect(state.logs.map((l) => l.msg)).toEqual([
        'Starting notification flow',
        'Sending delayed notification',
        `Waiting for webhook: POST /flows/triggers/${triggerId}`,
      ])
      expect(calls).toEqual({ fetch: 2, notify: 1, create: 1, pay: 1, email: 1 })
    } finally {
      await runner.stop()
      await store.close()
    }
  })
})
