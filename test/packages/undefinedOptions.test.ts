// Every optional option is typed `T | undefined` (a fresh `tsc --init` turns on
// exactOptionalPropertyTypes, and users pass `process.env.X` or a loop variable), so the
// implementations must treat an option set to `undefined` exactly like an absent one: the
// defaults apply, nothing throws. Each case here passes `undefined` for every optional option
// of one public function, on the real stores (memory and a real redis-server).
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { createBullMQQueue } from '@leanflow/bullmq'
import { createEventManager, createFlowWiring, createMemoryStreamStore, EventBus, type FlowState, type StreamStore } from '@leanflow/core'
import { createDashboard } from '@leanflow/dashboard'
import { createHandler } from '@leanflow/http'
import { watchRun } from '@leanflow/http/client'
import { toNodeHandler } from '@leanflow/http/node'
import { createRedisStreamStore } from '@leanflow/redis'
import { createMemoryQueue, createRunner, defineFlow, type RunnerStore } from '@leanflow/runner'
import { EventSource } from 'eventsource'
import { describe, expect, it } from 'vitest'
import { waitEnd } from '../fixtures/runnerKit.js'
import { useRedisServer } from '../helpers/redisServer.js'

const server = useRedisServer()

const u = undefined

const flow = defineFlow({
  name: 'undef',
  input: u,
  steps: {
    first: {
      needs: u,
      timeout: u,
      retry: { attempts: u, jitter: u, backoff: { type: u, delayMs: u, maxDelayMs: u } },
      handler: async (input: { n: number }, ctx) => {
        const e = await ctx.await.event<{ n: number }>({ kind: 'undef.go', match: u, timeout: u })
        const t = await ctx.await.trigger<number>({ type: 'user', payload: u, timeout: u })
        return input.n + e.data.n + (await t.wait())
      },
    },
    second: { needs: ['first'], retry: { backoff: u }, handler: async (_input, ctx) => ctx.results.first },
  },
})

const stores: Array<[string, () => RunnerStore]> = [
  ['memory', () => createMemoryStreamStore({ bus: u, retention: u, maxEventBytes: u, maxEventsPerRun: u, now: u })],
  [
    'redis',
    () =>
      createRedisStreamStore({
        url: server.url,
        redis: u,
        prefix: `undef${Date.now()}`,
        retention: u,
        maxEventBytes: u,
        maxEventsPerRun: u,
        bus: u,
        onCorrupt: u,
        connectionName: u,
      }),
  ],
]

describe.each(stores)('undefined options on the %s store', (_name, makeStore) => {
  it('append, read, follow and listRuns treat undefined like absent', async () => {
    const store = makeStore()
    try {
      const run = 'r1'
      await store.append(
        run,
        { kind: 'flow.started', flow: run, data: { name: 'f', input: {}, steps: {} } },
        { idempotencyKey: u, fence: u, after: u },
      )
      await store.append(run, { kind: 'log', flow: run, data: { level: 'info', msg: 'a' } }, { idempotencyKey: u })
      const all = await store.read(run)
      expect(all.map((e) => e.kind)).toEqual(['flow.started', 'log'])
      expect(await store.read(run, { after: u, before: u, limit: u, direction: u })).toEqual(all)
      const followed: string[] = []
      for await (const e of store.follow(run, { after: u, signal: u })) {
        followed.push(e.id)
        if (followed.length === all.length) break
      }
      expect(followed).toEqual(all.map((e) => e.id))
      const runs = await store.listRuns('f')
      expect(runs).toHaveLength(1)
      expect(await store.listRuns('f', { limit: u, before: u, status: u })).toEqual(runs)
    } finally {
      await store.close()
    }
  })

  it('createRunner, defineFlow, startFlow, awaits, publishEvent and createMemoryQueue take undefined options', async () => {
    const store = makeStore()
    const queue = createMemoryQueue({ redeliverDelayMs: u, maxRedeliverDelayMs: u, onError: u })
    const runner = createRunner({
      store,
      flows: [flow],
      queue,
      concurrency: u,
      onError: u,
      cancelPollMs: u,
      drainTimeoutMs: u,
      workerId: u,
      clock: u,
    })
    try {
      await runner.start()
      const { runId } = await runner.startFlow('undef', { n: 1 }, { runId: u, idempotencyKey: u })
      const trigger = firstTrigger(store, runId) // stored once the event await has resolved
      await runner.publishEvent({ kind: 'undef.go', data: { n: 2 } }, { idempotencyKey: u })
      await runner.resolveTrigger(await trigger, 3)
      const end = await waitEnd(store, runId)
      expect(end.kind).toBe('flow.completed')
      expect(end.data).toMatchObject({ result: { second: 6 } })
    } finally {
      await runner.stop()
      await queue.close()
      await store.close()
    }
  })
})

/** The id of the run's first trigger, once its `step.await.trigger` is stored. */
async function firstTrigger(store: StreamStore, runId: string): Promise<string> {
  for await (const e of store.follow(runId)) {
    if (e.kind === 'step.await.trigger') return (e.data as { triggerId: string }).triggerId
  }
  throw new Error(`run ${runId} ended without a trigger`)
}

describe('undefined options elsewhere', () => {
  it('createBullMQQueue takes undefined options (one of url and connection given)', async () => {
    const queue = createBullMQQueue({
      url: server.url,
      connection: u,
      prefix: u,
      queueName: `undef${Date.now()}`,
      lockDuration: u,
      stalledInterval: u,
      backoff: { delayMs: u, maxDelayMs: u },
      onError: u,
    })
    const seen: string[] = []
    const worker = await queue.process(async (job) => void seen.push(job.id), { concurrency: u })
    try {
      await queue.enqueue({ id: 'j1', name: 'n', data: null, delayMs: u })
      for (let i = 0; i < 200 && seen.length === 0; i++) await new Promise((r) => setTimeout(r, 25))
      expect(seen).toEqual(['j1'])
    } finally {
      await worker.close()
      await queue.close()
    }
  })

  it('EventBus, createEventManager and createFlowWiring take undefined options', async () => {
    const bus = new EventBus({ onError: u })
    const store = createMemoryStreamStore({ bus })
    const wiring = createFlowWiring({ bus, store, onError: u })
    wiring.start()
    try {
      const events = createEventManager({ bus, store: u })
      await events.publish({ kind: 'chat.message', flow: u, step: u, data: u, meta: u }, { flow: 'run-9', step: u })
      for (let i = 0; i < 100 && (await store.read('run-9')).length === 0; i++) await new Promise((r) => setTimeout(r, 10))
      const [stored] = await store.read('run-9')
      expect(stored).toMatchObject({ kind: 'chat.message', flow: 'run-9', data: null })
      expect(stored).not.toHaveProperty('step')
      expect(stored).not.toHaveProperty('meta')
    } finally {
      wiring.stop()
      await store.close()
    }
  })

  it('createHandler and watchRun take undefined options', async () => {
    const store = createMemoryStreamStore()
    const runner = createRunner({ store, flows: [defineFlow({ name: 'quick', steps: { one: { handler: async () => 1 } } })] })
    const handler = createHandler({
      store,
      runner,
      basePath: u,
      authorize: u,
      triggerSecret: u,
      maxBodyBytes: u,
      heartbeatMs: u,
      maxQueuedFrames: u,
      maxQueuedBytes: u,
      maxStreams: u,
      retryMs: u,
      onError: u,
    })
    const srv = http.createServer(toNodeHandler(handler)).listen(0, '127.0.0.1')
    await new Promise((r) => srv.once('listening', r))
    const base = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`
    try {
      await runner.start()
      const started = await fetch(`${base}/flows/quick/runs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      })
      expect(started.status).toBe(201)
      const { runId } = (await started.json()) as { runId: string }
      const state = await new Promise<FlowState>((resolve, reject) => {
        const w = watchRun(`${base}/flows/runs/${runId}/stream`, {
          EventSource,
          onState: u,
          onEvent: u,
          onEnd: (_end, s) => resolve(s),
          onError: (err) => {
            w.close()
            reject(err)
          },
          withCredentials: u,
        })
      })
      expect(state.status).toBe('completed')
    } finally {
      await runner.stop()
      srv.closeAllConnections()
      await new Promise((r) => srv.close(r))
    }
  })

  it('createDashboard takes undefined options', async () => {
    const dashboard = createDashboard({ apiBase: u, basePath: u, title: u })
    const page = await dashboard(new Request('http://app.test/dashboard/'))
    expect(page.status).toBe(200)
    const html = await page.text()
    expect(html).toContain('"apiBase":"/flows"')
    expect(html).toContain('<title>leanflow</title>')
  })
})
