// GET /:flow/counts (issue 18, for the dashboard's flows view): a flow's runs counted per status from
// the store's run index (`store.countRuns`), on the memory store and on a real redis-server, through
// the handler in-process and real servers: runs that completed, failed, were canceled, await a
// trigger; 404 for a flow the runner does not know, an empty count for a known flow without runs,
// authorize asked `runs.list` with { flow }.
import { NonRetriableError, reduceFlow, type StreamStore } from '@leanflow/core'
import { createHandler, type HandlerAction, type RouteParams } from '@leanflow/http'
import { defineFlow, type Runner } from '@leanflow/runner'
import { expect, it } from 'vitest'
import { describeOnStores } from '../fixtures/runnerOnStores.js'
import { describeMatrix, errorOf } from '../helpers/httpMatrix.js'
import { waitFor } from '../helpers/waitFor.js'

/** Ends as its input says: `ok` completes, `fail` fails, `wait` awaits a trigger (then canceled or left awaiting). */
const tally = defineFlow({
  name: 'tally',
  steps: {
    only: {
      handler: async (input, ctx) => {
        if (input === 'fail') throw new NonRetriableError('told to fail')
        if (input === 'wait') await (await ctx.await.trigger({ type: 'user', timeout: '1h' })).wait()
        return input
      },
    },
  },
})
const quiet = defineFlow({ name: 'quiet', steps: { only: { handler: async () => 1 } } })

const EXPECTED = { pending: 0, queued: 0, running: 0, awaiting: 2, completed: 3, failed: 1, canceled: 1 }

/** 3 completed, 1 failed, 1 canceled, 2 awaiting; returns when each has its status. */
async function seed(runner: Runner, store: StreamStore): Promise<void> {
  const start = async (input: string) => (await runner.startFlow('tally', input)).runId
  const ids = await Promise.all(['ok', 'ok', 'ok', 'fail', 'wait', 'wait', 'wait'].map(start))
  const status = async (id: string) => reduceFlow(await store.read(id)).status
  await waitFor(async () => (await Promise.all(ids.map(status))).filter((s) => s === 'awaiting').length === 3, 'three runs awaiting')
  await runner.cancel(ids[6]!, 'counted as canceled')
  await waitFor(async () => (await status(ids[6]!)) === 'canceled', 'the canceled run')
  await waitFor(
    async () =>
      (await Promise.all(ids.map(status))).every((s) => s === 'completed' || s === 'failed' || s === 'awaiting' || s === 'canceled'),
    'every run settled',
  )
}

/** Each store seeded once, by its first test. */
const seeded = new WeakMap<StreamStore, Promise<void>>()
const seedOnce = (runner: Runner, store: StreamStore) => {
  if (!seeded.has(store)) seeded.set(store, seed(runner, store))
  return seeded.get(store)
}

describeOnStores({ flows: [tally, quiet], prefix: 'counts' }, (runner, store) => {
  const asked: Array<[HandlerAction, RouteParams]> = []
  describeMatrix(
    'GET /:flow/counts',
    () =>
      createHandler({
        store: store(),
        runner: runner(),
        authorize: (req, action, params) => {
          if (new URL(req.url).pathname.endsWith('/counts')) asked.push([action, params])
          return req.headers.get('x-deny') === null
        },
      }),
    (t) => {
      it("counts the flow's runs per status, as its run list has them", async () => {
        await seedOnce(runner(), store())
        await waitFor(async () => {
          const res = await t().fetch('/flows/tally/counts')
          return JSON.stringify(((await res.json()) as { statuses: unknown }).statuses) === JSON.stringify(EXPECTED)
        }, 'the index to settle')
        const res = await t().fetch('/flows/tally/counts')
        expect(res.status).toBe(200)
        expect(await res.json()).toEqual({ flow: 'tally', runs: 7, statuses: EXPECTED })
        for (const [status, n] of Object.entries(EXPECTED)) {
          const list = (await (await t().fetch(`/flows/tally/runs?status=${status}&limit=1000`)).json()) as { runs: unknown[] }
          expect(list.runs, status).toHaveLength(n)
        }
        const flows = (await (await t().fetch('/flows')).json()) as { flows: Array<{ flow: string; runs: number }> }
        expect(flows.flows.find((f) => f.flow === 'tally')).toEqual({ flow: 'tally', runs: 7 })
      })

      it('a known flow without runs counts zeros; an unknown flow is 404 FLOW_NOT_FOUND; authorize decides first', async () => {
        expect(await (await t().fetch('/flows/quiet/counts')).json()).toEqual({
          flow: 'quiet',
          runs: 0,
          statuses: { pending: 0, queued: 0, running: 0, awaiting: 0, completed: 0, failed: 0, canceled: 0 },
        })
        const unknown = await t().fetch('/flows/nope/counts')
        expect(unknown.status).toBe(404)
        expect(await errorOf(unknown)).toMatchObject({ code: 'FLOW_NOT_FOUND', message: expect.stringContaining('tally') })
        expect((await t().fetch('/flows/bad%20name/counts')).status).toBe(400)
        expect((await t().fetch('/flows/tally/counts', { method: 'POST' })).status).toBe(405)
        asked.length = 0
        const denied = await t().fetch('/flows/tally/counts', { headers: { 'x-deny': '1' } })
        expect(denied.status).toBe(403)
        expect(asked).toEqual([['runs.list', { flow: 'tally' }]])
      })
    },
  )
})
