// The runner routes of @leanflow/http with the real runner (createRunner, memory queue), on the
// memory store and on a real redis-server, through the handler in-process and real servers:
// start (201, idempotency), trigger (200 once, 409, 404; F10 50 concurrent with different
// payloads and F10/F20 25 with the same payload after a ctx.do; F12 after timeout, and 404 once
// the run expired on Redis), cancel, POST /events resuming an await, and F15 (1 MB payload
// byte-exact; over the limit 413 with nothing written).
import type { EventRecord, StreamStore } from '@leanflow/core'
import { createHandler } from '@leanflow/http'
import { createRedisStreamStore } from '@leanflow/redis'
import { defineFlow, type Runner } from '@leanflow/runner'
import { describe, expect, it } from 'vitest'
import { describeOnStores, useStartedRunner } from '../fixtures/runnerOnStores.js'
import { collectSse, describeMatrix, errorOf, type MatrixTarget } from '../helpers/httpMatrix.js'
import { waitFor } from '../helpers/waitFor.js'

/** Runs of `approval` that reached their ctx.do (an effect that must not run twice per run). */
let effects = 0

const approval = defineFlow({
  name: 'approval',
  steps: {
    prepare: { handler: async () => ({ prepared: true }) },
    approve: {
      needs: ['prepare'],
      handler: async (input, ctx) => {
        const timeout = (input as { timeout?: string } | undefined)?.timeout ?? '1h'
        await ctx.do('notify', () => ++effects)
        const t = await ctx.await.trigger({ type: 'webhook', timeout })
        return await t.wait()
      },
    },
  },
})
const waiter = defineFlow({
  name: 'waiter',
  steps: {
    wait: {
      handler: async (input, ctx) => {
        const e = await ctx.await.event({ kind: 'payment.confirmed', match: { 'data.orderId': (input as { orderId: string }).orderId } })
        return e.data
      },
    },
  },
})
const echo = defineFlow({ name: 'echo', steps: { noop: { handler: async (input) => (input as { tag?: string } | null)?.tag ?? null } } })

const post = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: 'POST',
  body: typeof body === 'string' ? body : JSON.stringify(body),
  headers: { 'content-type': 'application/json', ...headers },
})

async function events(t: MatrixTarget, runId: string): Promise<EventRecord[]> {
  const res = await t.fetch(`/flows/runs/${runId}/events`)
  return ((await res.json()) as { events: EventRecord[] }).events
}

async function startRun(t: MatrixTarget, flow: string, input: unknown): Promise<string> {
  const res = await t.fetch(`/flows/${flow}/runs`, post(input))
  expect(res.status).toBe(201)
  return ((await res.json()) as { runId: string }).runId
}

async function triggerIdOf(t: MatrixTarget, runId: string): Promise<string> {
  let id: string | undefined
  await waitFor(async () => {
    const e = (await events(t, runId)).find((x) => x.kind === 'step.await.trigger')
    id = (e?.data as { triggerId?: string } | undefined)?.triggerId
    return id !== undefined
  }, 'step.await.trigger')
  return id as string
}

async function statusOf(t: MatrixTarget, runId: string): Promise<string> {
  const res = await t.fetch(`/flows/runs/${runId}`)
  return ((await res.json()) as { state: { status: string } }).state.status
}

function runnerRoutes(getRunner: () => Runner, getStore: () => StreamStore): void {
  describeMatrix(
    'runner routes',
    () => createHandler({ store: getStore(), runner: getRunner() }),
    (t) => {
      it('POST /:flow/runs starts a run (201), once per Idempotency-Key; unknown flows are 404', async () => {
        const key = `k-${t().transport}`
        const a = await t().fetch('/flows/echo/runs', post({ tag: 'x' }, { 'idempotency-key': key }))
        const b = await t().fetch('/flows/echo/runs', post({ tag: 'x' }, { 'idempotency-key': key }))
        expect(a.status).toBe(201)
        expect(b.status).toBe(201)
        const runId = ((await a.json()) as { runId: string }).runId
        expect(((await b.json()) as { runId: string }).runId).toBe(runId)
        await waitFor(async () => (await statusOf(t(), runId)) === 'completed', 'the echo run to complete')
        const ghost = await t().fetch('/flows/ghost/runs', post({}))
        expect(ghost.status).toBe(404)
        expect((await errorOf(ghost)).code).toBe('FLOW_NOT_FOUND')
        expect((await t().fetch('/flows/ghost/runs')).status).toBe(404)
        const list = (await (await t().fetch('/flows/echo/runs')).json()) as { runs: Array<{ runId: string }> }
        expect(list.runs.map((r) => r.runId)).toContain(runId)
      })

      it('POST /triggers/:id resumes the step (200 { runId, step }) once; again 409; unknown 404; the stream ends', async () => {
        const runId = await startRun(t(), 'approval', {})
        const triggerId = await triggerIdOf(t(), runId)
        const ok = await t().fetch(`/flows/triggers/${triggerId}`, post({ approved: true }))
        expect(ok.status).toBe(200)
        expect(await ok.json()).toEqual({ runId, step: 'approve' })
        const again = await t().fetch(`/flows/triggers/${triggerId}`, post({ approved: false }))
        expect(again.status).toBe(409)
        expect((await errorOf(again)).code).toBe('TRIGGER_CONFLICT')
        const unknown = await t().fetch('/flows/triggers/NoSuchTrigger000000001', post({}))
        expect(unknown.status).toBe(404)
        const frames = await collectSse(await t().fetch(`/flows/runs/${runId}/stream`))
        const end = frames[frames.length - 1]
        expect(end?.event).toBe('end')
        expect(JSON.parse(end?.data as string).kind).toBe('flow.completed')
        const state = (await (await t().fetch(`/flows/runs/${runId}`)).json()) as { state: { result: unknown } }
        expect(state.state.result).toEqual({ approve: { approved: true } })
      })

      it('50 concurrent resolves of one trigger: one 200, 49 × 409 (F10)', async () => {
        const runId = await startRun(t(), 'approval', {})
        const triggerId = await triggerIdOf(t(), runId)
        const answers = await Promise.all(
          Array.from({ length: 50 }, (_, i) =>
            t()
              .fetch(`/flows/triggers/${triggerId}`, post({ i }))
              .then((r) => r.status),
          ),
        )
        expect(answers.filter((s) => s === 200)).toHaveLength(1)
        expect(answers.filter((s) => s === 409)).toHaveLength(49)
        await waitFor(async () => (await statusOf(t(), runId)) === 'completed', 'the run to complete')
        const resumed = (await events(t(), runId)).filter((e) => e.kind === 'step.resumed')
        expect(resumed).toHaveLength(1)
      })

      it('25 concurrent resolves with the same body after a ctx.do: one 200, 24 × 409, one resume, one effect (F10/F20)', async () => {
        for (let round = 0; round < 3; round++) {
          const effectsBefore = effects
          const runId = await startRun(t(), 'approval', {})
          const triggerId = await triggerIdOf(t(), runId)
          const answers = await Promise.all(
            Array.from({ length: 25 }, () =>
              t()
                .fetch(`/flows/triggers/${triggerId}`, post({ ok: true }))
                .then(async (r) => ({ status: r.status, body: (await r.json()) as { error?: { code: string } } })),
            ),
          )
          expect(
            answers.filter((a) => a.status === 200),
            `round ${round}`,
          ).toHaveLength(1)
          const conflicts = answers.filter((a) => a.status === 409)
          expect(conflicts, `round ${round}`).toHaveLength(24)
          expect(new Set(conflicts.map((a) => a.body.error?.code))).toEqual(new Set(['TRIGGER_CONFLICT']))
          await waitFor(async () => (await statusOf(t(), runId)) === 'completed', 'the run to complete')
          const log = await events(t(), runId)
          expect(log.filter((e) => e.kind === 'step.resumed')).toHaveLength(1)
          const done = log.find((e) => e.kind === 'flow.completed')
          expect((done?.data as { result?: unknown } | undefined)?.result).toEqual({ approve: { ok: true } })
          expect(effects - effectsBefore, `round ${round}: the ctx.do ran once`).toBe(1)
        }
      })

      it('a trigger after its timeout is 409 and appends nothing (F12)', async () => {
        const runId = await startRun(t(), 'approval', { timeout: '50ms' })
        const triggerId = await triggerIdOf(t(), runId)
        await waitFor(async () => (await events(t(), runId)).some((e) => e.kind === 'step.await.timeout'), 'the await to time out')
        await waitFor(async () => ['failed', 'completed'].includes(await statusOf(t(), runId)), 'the run to end')
        const before = await events(t(), runId)
        const late = await t().fetch(`/flows/triggers/${triggerId}`, post({ late: true }))
        expect(late.status).toBe(409)
        expect(await events(t(), runId)).toEqual(before)
      })

      it('POST /runs/:id/cancel is 202 and the run ends canceled; unknown runs 404', async () => {
        const runId = await startRun(t(), 'approval', {})
        await triggerIdOf(t(), runId)
        // a misspelt reason is refused (it was lost without a word), and nothing is canceled
        const typo = await t().fetch(`/flows/runs/${runId}/cancel`, post({ reson: 'user asked' }))
        expect(typo.status).toBe(400)
        expect(((await typo.json()) as { error: { message: string } }).error.message).toMatch(/unknown field "reson": send only reason/)
        expect(await statusOf(t(), runId)).not.toBe('canceled')
        const res = await t().fetch(`/flows/runs/${runId}/cancel`, post({ reason: 'user asked' }))
        expect(res.status).toBe(202)
        await waitFor(async () => (await statusOf(t(), runId)) === 'canceled', 'the run to be canceled')
        const state = (await (await t().fetch(`/flows/runs/${runId}`)).json()) as { state: { cancelReason?: string } }
        expect(state.state.cancelReason).toBe('user asked')
        expect((await t().fetch('/flows/runs/nope/cancel', post({}))).status).toBe(404)
      })

      it('POST /events is 202 { id } and resolves a matching await.event; a built-in kind is 400', async () => {
        const orderId = `o-${t().transport}`
        const runId = await startRun(t(), 'waiter', { orderId })
        await waitFor(async () => (await events(t(), runId)).some((e) => e.kind === 'step.await.event'), 'the await to register')
        // a misspelt data is refused (it published null to the awaiting runs)
        const typo = await t().fetch('/flows/events', post({ kind: 'payment.confirmed', date: { orderId, amount: 5 } }))
        expect(typo.status).toBe(400)
        expect(((await typo.json()) as { error: { message: string } }).error.message).toMatch(
          /unknown field "date": send only kind and data/,
        )
        // a built-in kind is a run's log's, never an external event
        const forged = await t().fetch('/flows/events', post({ kind: 'flow.completed', data: { result: 1 } }))
        expect(forged.status).toBe(400)
        expect(((await forged.json()) as { error: { code: string; message: string } }).error).toMatchObject({
          code: 'INVALID_ARGUMENT',
          message: expect.stringMatching(/event kind "flow\.completed" is a built-in kind of a run's log/),
        })
        const res = await t().fetch('/flows/events', post({ kind: 'payment.confirmed', data: { orderId, amount: 5 } }))
        expect(res.status).toBe(202)
        expect(((await res.json()) as { id: string }).id).toEqual(expect.any(String))
        await waitFor(async () => (await statusOf(t(), runId)) === 'completed', 'the waiter to complete')
        const state = (await (await t().fetch(`/flows/runs/${runId}`)).json()) as { state: { result: unknown } }
        expect(state.state.result).toEqual({ wait: { orderId, amount: 5 } })
      })

      it('a 1 MB input is stored and replayed byte-exact; over maxBodyBytes: 413 and nothing written (F15)', async () => {
        const tag = 'é€😀'.repeat(1) + 'x'.repeat(1_000_000 - 9)
        const body = JSON.stringify({ tag })
        expect(new TextEncoder().encode(tag).byteLength).toBe(1_000_000)
        const runId = await startRun(t(), 'echo', body)
        const started = (await events(t(), runId)).find((e) => e.kind === 'flow.started')
        expect((started?.data as { input: { tag: string } } | undefined)?.input.tag === tag).toBe(true)
        await waitFor(async () => (await statusOf(t(), runId)) === 'completed', 'the big run to complete')
        const runsBefore = ((await (await t().fetch('/flows/echo/runs?limit=1000')).json()) as { runs: unknown[] }).runs.length
        const tooBig = await t().fetch('/flows/echo/runs', post({ tag: 'x'.repeat(1024 * 1024 + 1) }))
        expect(tooBig.status).toBe(413)
        const runsAfter = ((await (await t().fetch('/flows/echo/runs?limit=1000')).json()) as { runs: unknown[] }).runs.length
        expect(runsAfter).toBe(runsBefore)
      })
    },
  )
}

describeOnStores({ flows: [approval, waiter, echo], prefix: 'httprunner' }, runnerRoutes, (redis) => {
  describe('a trigger whose run has expired (F12)', () => {
    const short = useStartedRunner(
      () => createRedisStreamStore({ url: redis.url, prefix: 'httprunner-short', retention: '1s' }),
      [approval],
    )
    describeMatrix(
      'expired run',
      () => createHandler({ store: short.store(), runner: short.runner() }),
      (t) => {
        it('is 409 while the ended run is kept, then 404 TRIGGER_NOT_FOUND once it expired; nothing appended', async () => {
          const runId = await startRun(t(), 'approval', { timeout: '50ms' })
          const triggerId = await triggerIdOf(t(), runId)
          await waitFor(async () => ['failed', 'completed'].includes(await statusOf(t(), runId)), 'the run to end')
          const late = await t().fetch(`/flows/triggers/${triggerId}`, post({ late: true }))
          expect(late.status).toBe(409)
          await waitFor(async () => (await t().fetch(`/flows/runs/${runId}`)).status === 404, 'the run to expire', 15_000)
          const gone = await t().fetch(`/flows/triggers/${triggerId}`, post({ later: true }))
          expect(gone.status).toBe(404)
          expect((await errorOf(gone)).code).toBe('TRIGGER_NOT_FOUND')
          expect(await short.store().read(runId)).toEqual([])
        })
      },
    )
  })
})
