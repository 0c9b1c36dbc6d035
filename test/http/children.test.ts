// GET /runs/:runId/children (composition, issue 15) with the real runner: a parent flow whose step
// invokes child flows (`ctx.invoke('line', …)`), on the memory store and on a real redis-server,
// through the handler in-process and real servers. The children in invoke order with their
// summaries (parent, status), paging with ?limit and ?after, 404 / 400s, authorize (runs.read
// with { runId }); the parent's state (children, each pending await while it waits) from
// GET /runs/:runId and from watchRun, and parent / children in the GET /:flow/runs summaries.
import type { FlowState, RunSummary, StepAwait, StreamStore } from '@leanflow/core'
import { createHandler, type HandlerAction, type RouteParams } from '@leanflow/http'
import { watchRun } from '@leanflow/http/client'
import { defineFlow, type Runner } from '@leanflow/runner'
import { expect, it } from 'vitest'
import { describeOnStores } from '../fixtures/runnerOnStores.js'
import { describeMatrix, errorOf, type MatrixTarget } from '../helpers/httpMatrix.js'
import { waitFor } from '../helpers/waitFor.js'

/** A child: prices a line; with `gate`, waits for a trigger first (so it stays active). */
const line = defineFlow({
  name: 'line',
  steps: {
    price: {
      handler: async (input, ctx) => {
        const { n, gate } = input as { n: number; gate?: boolean }
        if (gate) await (await ctx.await.trigger({ type: 'user', timeout: '1h' })).wait()
        return n * 2
      },
    },
  },
})
/** The parent: one step invokes a child per line, all at once. */
const order = defineFlow({
  name: 'order',
  steps: {
    bill: {
      handler: async (input, ctx) => {
        const { lines } = input as { lines: Array<{ n: number; gate?: boolean }> }
        return await Promise.all(lines.map((l) => ctx.invoke('line', l)))
      },
    },
  },
})
const solo = defineFlow({ name: 'solo', steps: { only: { handler: async () => 1 } } })

const post = (body: unknown): RequestInit => ({
  method: 'POST',
  body: JSON.stringify(body),
  headers: { 'content-type': 'application/json' },
})

async function startRun(t: MatrixTarget, flow: string, input: unknown): Promise<string> {
  const res = await t.fetch(`/flows/${flow}/runs`, post(input))
  expect(res.status).toBe(201)
  return ((await res.json()) as { runId: string }).runId
}

async function stateOf(t: MatrixTarget, runId: string): Promise<FlowState> {
  const res = await t.fetch(`/flows/runs/${runId}`)
  expect(res.status).toBe(200)
  return ((await res.json()) as { state: FlowState }).state
}

async function childrenOf(t: MatrixTarget, runId: string, query = ''): Promise<{ children: RunSummary[]; next?: string }> {
  const res = await t.fetch(`/flows/runs/${runId}/children${query}`)
  expect(res.status, await res.clone().text()).toBe(200)
  return (await res.json()) as { children: RunSummary[]; next?: string }
}

const ended = async (t: MatrixTarget, runId: string) => ['completed', 'failed', 'canceled'].includes((await stateOf(t, runId)).status)

function childrenRoutes(getRunner: () => Runner, getStore: () => StreamStore): void {
  const asked: Array<[HandlerAction, RouteParams]> = []
  describeMatrix(
    'GET /runs/:runId/children',
    () =>
      createHandler({
        store: getStore(),
        runner: getRunner(),
        authorize: (req, action, params) => {
          if (new URL(req.url).pathname.endsWith('/children')) asked.push([action, params])
          return req.headers.get('x-deny') === null
        },
      }),
    (t) => {
      it('lists the children in the order the step invoked them, each with its summary; the states agree', async () => {
        const parent = await startRun(t(), 'order', { lines: [{ n: 1 }, { n: 2 }, { n: 3 }] })
        await waitFor(() => ended(t(), parent), 'the parent to end')
        const state = await stateOf(t(), parent)
        expect(state.status).toBe('completed')
        expect(state.result).toEqual({ bill: [{ price: 2 }, { price: 4 }, { price: 6 }] }) // each child's result: its sink steps' results
        expect(state.children).toBe(3)
        expect(state.steps.bill?.pending).toBeUndefined()
        const { children, next } = await childrenOf(t(), parent)
        expect(next).toBeUndefined()
        expect(children).toHaveLength(3)
        // invoke order: the step.await.run events' order in the parent's log
        const events = (
          (await (await t().fetch(`/flows/runs/${parent}/events`)).json()) as {
            events: Array<{ kind: string; data: { childRunId?: string } }>
          }
        ).events
        const invoked = events.filter((e) => e.kind === 'step.await.run').map((e) => e.data.childRunId)
        expect(children.map((c) => c.runId)).toEqual(invoked)
        for (const c of children) {
          expect(c).toEqual({
            runId: c.runId,
            flow: 'line',
            status: 'completed',
            startedAt: expect.any(String),
            completedAt: expect.any(String),
            parent: { runId: parent, step: 'bill' },
            version: 1,
          })
          expect((await stateOf(t(), c.runId)).parent).toEqual({ runId: parent, step: 'bill' })
        }
        // the flows' run lists (the store's index) show the same
        const orders = ((await (await t().fetch('/flows/order/runs?limit=1000')).json()) as { runs: RunSummary[] }).runs
        expect(orders.find((r) => r.runId === parent)).toMatchObject({ status: 'completed', children: 3 })
        const lines = ((await (await t().fetch('/flows/line/runs?limit=1000')).json()) as { runs: RunSummary[] }).runs
        for (const c of children) expect(lines.find((r) => r.runId === c.runId)).toEqual(c)
      })

      it('pages with ?limit and ?after (next names the last child of a page while more follow)', async () => {
        const parent = await startRun(t(), 'order', { lines: [1, 2, 3, 4, 5].map((n) => ({ n })) })
        await waitFor(() => ended(t(), parent), 'the parent to end')
        const all = (await childrenOf(t(), parent)).children.map((c) => c.runId)
        expect(all).toHaveLength(5)
        const one = await childrenOf(t(), parent, '?limit=2')
        expect(one.children.map((c) => c.runId)).toEqual(all.slice(0, 2))
        expect(one.next).toBe(all[1])
        const two = await childrenOf(t(), parent, `?limit=2&after=${one.next}`)
        expect(two.children.map((c) => c.runId)).toEqual(all.slice(2, 4))
        const three = await childrenOf(t(), parent, `?limit=2&after=${two.next}`)
        expect(three.children.map((c) => c.runId)).toEqual(all.slice(4))
        expect(three.next).toBeUndefined()
        expect(await childrenOf(t(), parent, `?after=${all[4]}`)).toEqual({ children: [] })
      })

      it('while the parent waits: each pending invoke in its state, the children listed as awaiting; then it ends', async () => {
        const parent = await startRun(t(), 'order', {
          lines: [
            { n: 1, gate: true },
            { n: 2, gate: true },
          ],
        })
        let pending: readonly StepAwait[] = []
        await waitFor(async () => {
          pending = (await stateOf(t(), parent)).steps.bill?.pending ?? []
          return pending.length === 2
        }, 'two pending invokes')
        expect(pending.map((a) => [a.type, a.flow, a.position])).toEqual([
          ['run', 'line', 0],
          ['run', 'line', 1],
        ])
        const ids = pending.map((a) => a.childRunId as string)
        // a live view folds the same state (watchRun, applyEvent in the client)
        let live: FlowState | undefined
        const w = watchRun(`${t().origin}/flows/runs/${parent}/stream`, {
          EventSource: t().EventSource,
          onState: (s) => {
            live = s
          },
        })
        try {
          await waitFor(
            async () => (await childrenOf(t(), parent)).children.every((c) => c.status === 'awaiting'),
            'both children awaiting',
          )
          expect((await childrenOf(t(), parent)).children.map((c) => c.runId)).toEqual(ids)
          await waitFor(async () => live?.steps.bill?.pending?.length === 2, 'watchRun to show both pending invokes')
          expect(live?.status).toBe('awaiting')
          expect(live?.children).toBe(2)
          // the first child ends: the parent still awaits the second
          await resolveGate(t(), ids[0]!)
          await waitFor(async () => (await childrenOf(t(), parent)).children[0]?.status === 'completed', 'the first child to complete')
          await waitFor(async () => (await stateOf(t(), parent)).steps.bill?.pending?.length === 1, 'one pending invoke')
          const waiting = await stateOf(t(), parent)
          expect(waiting.status).toBe('awaiting')
          expect(waiting.steps.bill?.awaiting).toMatchObject({ type: 'run', childRunId: ids[1], position: 1 })
          await resolveGate(t(), ids[1]!)
          await waitFor(() => ended(t(), parent), 'the parent to end')
          expect((await stateOf(t(), parent)).result).toEqual({ bill: [{ price: 2 }, { price: 4 }] })
          await waitFor(async () => live?.status === 'completed', 'watchRun to see the end')
          expect(live?.steps.bill?.pending).toBeUndefined()
        } finally {
          w.close()
        }
      })

      it('a run without children lists none; an unknown run is 404; bad parameters are 400', async () => {
        const run = await startRun(t(), 'solo', {})
        await waitFor(() => ended(t(), run), 'the run to end')
        expect(await childrenOf(t(), run)).toEqual({ children: [] })
        expect((await stateOf(t(), run)).children).toBeUndefined()
        const unknown = await t().fetch('/flows/runs/NoSuchRun000000000001/children')
        expect(unknown.status).toBe(404)
        expect((await errorOf(unknown)).code).toBe('RUN_NOT_FOUND')
        for (const [query, code] of [
          ['?after=NotAChild0000000001', 'INVALID_ARGUMENT'],
          ['?after=bad%3Aname', 'INVALID_NAME'],
          ['?limit=0', 'INVALID_ARGUMENT'],
          ['?limit=1001', 'INVALID_ARGUMENT'],
          ['?limit=1&limit=2', 'INVALID_ARGUMENT'],
        ]) {
          const res = await t().fetch(`/flows/runs/${run}/children${query}`)
          expect(res.status, query).toBe(400)
          expect((await errorOf(res)).code, query).toBe(code)
        }
        const post = await t().fetch(`/flows/runs/${run}/children`, { method: 'POST' })
        expect(post.status).toBe(405)
      })

      it('asks authorize for runs.read with { runId } before reading anything; a refusal is 403', async () => {
        asked.length = 0
        const res = await t().fetch('/flows/runs/SomeRun0000000000001/children')
        expect(res.status).toBe(404)
        expect(asked).toEqual([['runs.read', { runId: 'SomeRun0000000000001' }]])
        const denied = await t().fetch('/flows/runs/SomeRun0000000000001/children', { headers: { 'x-deny': '1' } })
        expect(denied.status).toBe(403)
        expect((await errorOf(denied)).code).toBe('FORBIDDEN')
      })
    },
  )
}

/** Resolves the trigger child `runId` waits on. */
async function resolveGate(t: MatrixTarget, runId: string): Promise<void> {
  let triggerId: string | undefined
  await waitFor(async () => {
    triggerId = (await stateOf(t, runId)).steps.price?.awaiting?.triggerId
    return triggerId !== undefined
  }, `child ${runId} to await its trigger`)
  const res = await t.fetch(`/flows/triggers/${triggerId}`, post({ ok: true }))
  expect(res.status).toBe(200)
}

describeOnStores({ flows: [order, line, solo], prefix: 'httpchildren' }, childrenRoutes)
