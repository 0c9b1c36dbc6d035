/**
 * The flows of the OpenTelemetry test (test/otel/workers.test.ts), held by its worker processes
 * (otelWorker.ts) and by the test's producer: `traced` fails its first charge, waits on a timer,
 * invokes `leafy`; `doomed` fails for good.
 */
import { NonRetriableError } from '../../packages/core/src/index.js'
import { defineFlow } from '../../packages/runner/src/index.js'

export const leafy = defineFlow({ name: 'leafy', steps: { only: { handler: async () => 'leaf' } } })

export const traced = defineFlow({
  name: 'traced',
  steps: {
    charge: {
      retry: { attempts: 2, backoff: { type: 'fixed', delayMs: 20 } },
      handler: async (_input, ctx) => {
        if (ctx.attempt === 1) throw new Error('card declined')
        // held a little, so that with one job at a time per worker both workers get steps
        await new Promise((r) => setTimeout(r, 100))
        return 'charged'
      },
    },
    wait: {
      needs: ['charge'],
      handler: async (_input, ctx) => {
        await ctx.await.time('200ms')
        return 'waited'
      },
    },
    child: { needs: ['wait'], handler: async (_input, ctx) => ctx.invoke(leafy, {}) },
  },
})

export const doomed = defineFlow({
  name: 'doomed',
  steps: {
    boom: {
      handler: async () => {
        throw new NonRetriableError('out of stock')
      },
    },
  },
})

export const otelFlows = [traced, leafy, doomed]
