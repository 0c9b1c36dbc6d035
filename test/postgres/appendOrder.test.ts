// The runner pipelines appends of a run that must be stored in order, the later one with `after`
// (AppendOptions: "lets a caller pipeline two appends that must be stored in order"), e.g.
// `flow.completed` behind the last `step.completed`. The Postgres example store runs each append
// in its own transaction on a pooled connection: it keeps a run's appends in the order they were
// issued, so a pipelined append never finds the one it follows missing. (It used to start them
// in parallel: `flow.completed` was refused, reported to onError, and its job delivered again
// after a backoff, on most runs: the default memory queue reports such a delivery to onError.)
import { createRunner, defineFlow } from '@leanflow/runner'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createPostgresStreamStore, type PostgresStreamStore } from '../../examples/postgres-store/postgresStreamStore.js'
import { withMemoryFlowControl } from '../../examples/postgres-store/withMemoryFlowControl.js'
import { kindsOf } from '../fixtures/runnerKit.js'
import { usePostgres } from '../helpers/postgresServer.js'

const pg = usePostgres()
let store: PostgresStreamStore
beforeAll(async () => {
  store = withMemoryFlowControl(await createPostgresStreamStore({ connectionString: pg.url, schema: 'append_order' }))
})
afterAll(async () => {
  await store?.close()
})

/** One step that waits on more awaits than maxPendingAwaits (5): the last is refused, the step returns its code. */
const fanIn = defineFlow({
  name: 'fanIn',
  steps: {
    s: {
      retry: { attempts: 1 },
      handler: async (_input, ctx) => {
        try {
          await Promise.all(Array.from({ length: 6 }, () => ctx.await.time('1h')))
          return 'all waited'
        } catch (err) {
          return (err as { code?: string }).code
        }
      },
    },
  },
})
const chain = defineFlow({
  name: 'chain',
  steps: {
    a: { handler: async () => 1 },
    b: { needs: ['a'], handler: async (_input, ctx) => (ctx.results.a as number) + 1 },
  },
})

it('runs on a pooled store complete with no append refused for its order and no job delivered twice', async () => {
  const errors: unknown[] = []
  const runner = createRunner({
    store,
    flows: [fanIn, chain],
    maxPendingAwaits: 5,
    onError: (e) => errors.push(e),
  })
  await runner.start()
  try {
    for (let i = 0; i < 8; i++) {
      const { runId } = await runner.startFlow('fanIn', {})
      expect(await runner.result(runId, { timeout: '20s' })).toEqual({ s: 'INVALID_ARGUMENT' })
      // the five awaits called before the refused one are recorded and announced (closed with the step), on every store
      const awaited = Array.from({ length: 5 }, () => 'step.await.time(s)')
      expect(await kindsOf(store, runId)).toEqual(['flow.started', 'step.started(s)', ...awaited, 'step.completed(s)', 'flow.completed'])
    }
    const runs = await Promise.all(Array.from({ length: 10 }, () => runner.startFlow('chain', {})))
    for (const { runId } of runs) expect(await runner.result(runId, { timeout: '20s' })).toEqual({ b: 2 })
    expect(errors.map((e) => String(e))).toEqual([])
  } finally {
    await runner.stop()
  }
})
