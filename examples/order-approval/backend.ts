// Where runs live: in memory by default; REDIS_URL switches to Redis streams and a BullMQ queue,
// so several processes (`pnpm demo` and `pnpm demo --worker`) share the work. The runner holds the
// `order` flow, the `invoice` flow it invokes (one child run per order line) and the scheduled
// `restock` flow (its `restock-check` schedule fires in any started runner).

import { createBullMQQueue } from '@leanflow/bullmq'
import { createMemoryStreamStore, EventBus, type JobQueue } from '@leanflow/core'
import { createRedisStreamStore } from '@leanflow/redis'
import { createRunner } from '@leanflow/runner'
import { type DemoTimings, invoiceFlow, orderFlow, restockFlow } from './flows.js'

/** Options of {@link createBackend}. */
export interface BackendOptions {
  /** `redis://…` to run on Redis; in memory when absent. */
  redisUrl?: string
  timings: DemoTimings
  /** Where the HTTP server is (for the curl line). */
  baseUrl: string
  /** Printed lines (the curl line when a trigger is created). @default console.log */
  log?: (line: string) => void
}

/**
 * The store, queue and runner of the demo, and a `close()` for all of them.
 *
 * @example
 * ```ts
 * const { runner, store, close } = createBackend({ timings: LIVE_TIMINGS, baseUrl: 'http://localhost:3000' })
 * ```
 */
export function createBackend(opts: BackendOptions) {
  const log = opts.log ?? console.log
  const bus = new EventBus()
  // Every record a store appends goes on its bus: print the curl line when an approval trigger is created.
  bus.onKind('step.await.trigger', (e) => {
    const data = e.data as { triggerId?: string }
    if (!data?.triggerId) return
    log(`[demo] run ${e.flow} awaits approval; approve it with:`)
    log(`  curl -X POST ${opts.baseUrl}/flows/triggers/${data.triggerId} -H 'content-type: application/json' -d '{"approved":true}'`)
  })
  const prefix = 'lf-demo'
  const store = opts.redisUrl ? createRedisStreamStore({ url: opts.redisUrl, bus, prefix }) : createMemoryStreamStore({ bus })
  const queue: JobQueue | undefined = opts.redisUrl ? createBullMQQueue({ url: opts.redisUrl, prefix, queueName: 'order-demo' }) : undefined
  // every flow a step invokes is registered too (`ctx.invoke` finds it by name)
  const flows = [
    orderFlow({ timings: opts.timings, baseUrl: opts.baseUrl }),
    invoiceFlow({ timings: opts.timings }),
    restockFlow({ timings: opts.timings }),
  ]
  const runner = createRunner({ store, flows, ...(queue ? { queue } : {}) })
  return {
    store,
    runner,
    mode: opts.redisUrl ? `redis (${opts.redisUrl})` : 'memory',
    async close() {
      await runner.stop()
      await queue?.close()
      await store.close()
    },
  }
}

export type Backend = ReturnType<typeof createBackend>
