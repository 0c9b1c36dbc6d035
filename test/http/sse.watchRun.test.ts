// watchRun (@leanflow/http/client) in Node with the `eventsource` package, through the handler
// in-process and real servers, with the real runner: a live run to its end across a dropped
// connection (exact state, each event once), and reset → start again from scratch.
import { createMemoryStreamStore, type FlowState, type MemoryStreamStore, reduceFlow } from '@leanflow/core'
import { createHandler } from '@leanflow/http'
import { type RunEnd, watchRun } from '@leanflow/http/client'
import { createRunner, defineFlow, type Runner } from '@leanflow/runner'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { describeMatrix } from '../helpers/httpMatrix.js'
import { waitFor } from '../helpers/waitFor.js'

const flow = defineFlow({
  name: 'watched',
  steps: {
    one: { handler: async (_i, ctx) => ctx.logger.info('one') },
    gate: {
      needs: ['one'],
      handler: async (_i, ctx) => {
        const t = await ctx.await.trigger({ type: 'user', timeout: '1h' })
        return await t.wait()
      },
    },
    two: { needs: ['gate'], handler: async (_i, ctx) => ctx.state.set('done', true) },
  },
})

let store: MemoryStreamStore
let runner: Runner
let clockOffset = 0

beforeAll(async () => {
  store = createMemoryStreamStore({ retention: '1h', now: () => Date.now() + clockOffset })
  runner = createRunner({ store, flows: [flow], onError: () => {} })
  await runner.start()
})
afterAll(async () => {
  await runner.stop()
})

describeMatrix(
  'watchRun in Node',
  () => createHandler({ store, runner, retryMs: 50 }),
  (t) => {
    it('follows a live run across a dropped connection to its end, each event once', async () => {
      const { runId } = await runner.startFlow('watched', null)
      const seen: string[] = []
      let state: FlowState | undefined
      let end: RunEnd | undefined
      const errors: Error[] = []
      const connection: string[] = []
      const w = watchRun(`${t().origin}/flows/runs/${runId}/stream`, {
        EventSource: t().EventSource,
        onConnection: (status) => connection.push(status),
        onEvent: (e) => seen.push(e.id),
        onState: (s) => {
          state = s
        },
        onEnd: (e) => {
          end = e
        },
        onError: (e) => errors.push(e),
      })
      await waitFor(() => state?.status === 'awaiting', 'the gate to await')
      t().cut()
      const trigger = (await store.read(runId)).find((e) => e.kind === 'step.await.trigger')
      await runner.resolveTrigger((trigger?.data as { triggerId: string } | undefined)?.triggerId ?? 'missing', 'ok')
      await waitFor(() => end !== undefined, 'the end')
      const events = await store.read(runId)
      expect(seen).toEqual(events.map((e) => e.id))
      expect(state).toEqual(reduceFlow(events))
      expect(w.state).toBe(state)
      expect(end).toEqual({ lastEventId: events.at(-1)?.id, kind: 'flow.completed' })
      expect(errors).toEqual([])
      // open, dropped and retried on its own, open again (onConnection)
      expect(connection.slice(0, 3)).toEqual(['open', 'retrying', 'open'])
      w.close()
    })

    it('on reset it empties the state and starts again without a position', async () => {
      const { runId } = await runner.startFlow('watched', null)
      await waitFor(async () => reduceFlow(await store.read(runId)).status === 'awaiting', 'the gate')
      const first = (await store.read(runId, { limit: 1 }))[0]
      await runner.cancel(runId)
      await waitFor(async () => reduceFlow(await store.read(runId)).status === 'canceled', 'the cancel')
      clockOffset += 2 * 60 * 60 * 1000 // past retention: the run is gone
      const states: FlowState[] = []
      const errors: Error[] = []
      watchRun(`${t().origin}/flows/runs/${runId}/stream?after=${first?.id}`, {
        EventSource: t().EventSource,
        onState: (s) => states.push(s),
        onError: (e) => errors.push(e),
      })
      await waitFor(() => errors.length > 0, 'the restart to find the run gone')
      expect(states).toHaveLength(1)
      expect(states[0]?.status).toBe('pending')
      expect(states[0]?.lastEventId).toBeUndefined()
      expect(errors[0]?.message).toMatch(/closed for good \(HTTP 404/)
      expect(errors[0]).toMatchObject({ status: 404 })
    })
  },
)
