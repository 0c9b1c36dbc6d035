// POST /runs/:runId/rerun and the version in GET /:flow/runs, through a real node:http server and
// fetch as the client, with the real runner on a real redis-server: 201 { runId } of a rerun from
// the failed step (copied steps, rerunOf), 404 for an unknown run, 400 for a bad from, the
// runs.rerun action in authorize, 404 without a runner that reruns, deduplicated: true when a
// singleton folds the rerun into its active run, a traceparent header kept in the rerun's
// flow.started.meta (as on POST /:flow/runs; a malformed one is 400 and starts nothing).
import { createHandler, type HandlerAction, type RouteParams } from '@leanflow/http'
import { createRedisStreamStore, type RedisStreamStore } from '@leanflow/redis'
import { createRunner, defineFlow, type Runner } from '@leanflow/runner'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { errorOf, type RunningServer, startServer } from '../helpers/httpMatrix.js'
import { useRedisServer } from '../helpers/redisServer.js'
import { waitFor } from '../helpers/waitFor.js'

const flags = { fail: true }
const shop = (version: number) =>
  defineFlow({
    name: 'shop',
    version,
    steps: {
      pick: { handler: async (input: { sku: string }) => ({ sku: input.sku, picked: version }) },
      pay: {
        needs: ['pick'],
        retry: { attempts: 1 },
        handler: async (_input, ctx) => {
          if (flags.fail) throw new Error('the card was declined')
          return { paid: (ctx.results.pick as { sku: string }).sku }
        },
      },
    },
  })

/** One active run at a time: a run with { hold: true } waits for a `go` event. */
const solo = defineFlow({
  name: 'solo',
  singleton: {},
  steps: {
    only: {
      handler: async (input: { hold?: boolean } | null, ctx) => {
        if (input?.hold) await ctx.await.event({ kind: 'go' })
        return 'done'
      },
    },
  },
})

describe('POST /runs/:runId/rerun (real server, Redis)', () => {
  const redis = useRedisServer()
  let store: RedisStreamStore
  let runner: Runner
  let server: RunningServer
  const seen: Array<{ action: HandlerAction; params: RouteParams }> = []
  beforeAll(async () => {
    store = createRedisStreamStore({ url: redis.url, prefix: 'rerun' })
    runner = createRunner({ store, flows: [shop(1), shop(2), solo], onError: () => {} })
    await runner.start()
    const handler = createHandler({
      store,
      runner,
      authorize: (req, action, params) => {
        seen.push({ action, params })
        return req.headers.get('x-deny') === null
      },
    })
    server = await startServer('node', handler)
  })
  afterAll(async () => {
    await server?.stop()
    await runner?.stop()
    await store?.close()
  })
  const post = (path: string, body?: unknown, headers: Record<string, string> = {}) =>
    fetch(`${server.origin}/flows${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
  const state = async (runId: string) =>
    ((await (await fetch(`${server.origin}/flows/runs/${runId}`)).json()) as { state: Record<string, unknown> }).state

  it('reruns a failed run from its failed step: 201 { runId }, the run completes; the action is runs.rerun', async () => {
    flags.fail = true
    const started = await post('/shop/runs', { sku: 'a-1' })
    const { runId: failed } = (await started.json()) as { runId: string }
    await waitFor(async () => (await state(failed)).status === 'failed', 'the run to fail')
    flags.fail = false
    const res = await post(`/runs/${failed}/rerun`, { from: 'pay' })
    expect(res.status).toBe(201)
    const { runId } = (await res.json()) as { runId: string }
    expect(seen.at(-1)).toEqual({ action: 'runs.rerun', params: { runId: failed } })
    await waitFor(async () => (await state(runId)).status === 'completed', 'the rerun to complete')
    const s = await state(runId)
    expect(s.rerunOf).toEqual({ runId: failed, from: 'pay' })
    expect(s.result).toEqual({ pay: { paid: 'a-1' } })
    const events = (
      (await (await fetch(`${server.origin}/flows/runs/${runId}/events`)).json()) as {
        events: Array<{ kind: string; step?: string; data: { copied?: boolean } }>
      }
    ).events
    expect(events.filter((e) => e.data?.copied).map((e) => e.step)).toEqual(['pick'])
    // the summaries carry the version (new runs: the highest held)
    const list = (await (await fetch(`${server.origin}/flows/shop/runs`)).json()) as { runs: Array<{ runId: string; version?: number }> }
    expect(list.runs.find((r) => r.runId === runId)?.version).toBe(2)
    expect(list.runs.find((r) => r.runId === failed)?.version).toBe(2)
    // a rerun with a new input (no body fields: everything again with the old input is the other form)
    const again = await post(`/runs/${failed}/rerun`, { input: { sku: 'b-2' } })
    const { runId: other } = (await again.json()) as { runId: string }
    await waitFor(async () => (await state(other)).status === 'completed', 'the second rerun to complete')
    expect((await state(other)).result).toEqual({ pay: { paid: 'b-2' } })
    expect((await state(other)).rerunOf).toEqual({ runId: failed })
    // a client resending after a lost reply (the same Idempotency-Key) gets the first rerun, concurrently too
    const keyed = await Promise.all([1, 2, 3].map(() => post(`/runs/${failed}/rerun`, { from: 'pay' }, { 'idempotency-key': 'once' })))
    const ids = await Promise.all(keyed.map(async (r) => ((await r.json()) as { runId: string }).runId))
    expect(keyed.map((r) => r.status)).toEqual([201, 201, 201])
    expect(new Set(ids).size).toBe(1)
    // the key is the old run's: another run's rerun with the same key is another run
    const elsewhere = await post(`/runs/${other}/rerun`, {}, { 'idempotency-key': 'once' })
    expect(((await elsewhere.json()) as { runId: string }).runId).not.toBe(ids[0])
  })

  it('a rerun that a singleton folds into its active run answers that run with deduplicated: true, as a start does', async () => {
    const { runId: done } = (await (await post('/solo/runs', {})).json()) as { runId: string }
    await waitFor(async () => (await state(done)).status === 'completed', 'the first run to complete')
    const { runId: active } = (await (await post('/solo/runs', { hold: true })).json()) as { runId: string }
    const res = await post(`/runs/${done}/rerun`, {})
    expect(res.status).toBe(201)
    expect(await res.json()).toEqual({ runId: active, deduplicated: true })
    expect(await runner.rerun(done)).toEqual({ runId: active, deduplicated: true })
    await runner.publishEvent({ kind: 'go' })
    await waitFor(async () => (await state(active)).status === 'completed', 'the active run to complete')
    // with no run active, the rerun is a new run again
    const again = (await (await post(`/runs/${done}/rerun`, {})).json()) as { runId: string; deduplicated?: true }
    expect(again.deduplicated).toBeUndefined()
    expect(again.runId).not.toBe(active)
  })

  it("a traceparent header joins the rerun to the caller's trace (flow.started.meta), as a start does; a malformed one is 400 and reruns nothing", async () => {
    flags.fail = false
    const { runId: done } = (await (await post('/shop/runs', { sku: 't-1' })).json()) as { runId: string }
    await waitFor(async () => (await state(done)).status === 'completed', 'the run to complete')
    const tp = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
    const res = await post(`/runs/${done}/rerun`, {}, { traceparent: tp })
    expect(res.status).toBe(201)
    const { runId } = (await res.json()) as { runId: string }
    const [first] = await store.read(runId, { limit: 1 })
    expect(first?.meta).toMatchObject({ traceparent: tp })
    // the runner's option too
    const { runId: direct } = await runner.rerun(done, { traceparent: tp })
    expect((await store.read(direct, { limit: 1 }))[0]?.meta).toMatchObject({ traceparent: tp })
    const before = (await store.listRuns('shop', { limit: 100 })).length
    const bad = await post(`/runs/${done}/rerun`, {}, { traceparent: 'not-a-trace' })
    expect(bad.status).toBe(400)
    expect((await errorOf(bad)).message).toContain('traceparent')
    expect((await store.listRuns('shop', { limit: 100 })).length).toBe(before)
  })

  it('404 for an unknown run, 400 for a step it does not have or a from that is no string, 403 when authorize says no', async () => {
    const unknown = await post('/runs/NoSuchRun000000000001/rerun', {})
    expect(unknown.status).toBe(404)
    expect((await errorOf(unknown)).code).toBe('RUN_NOT_FOUND')
    const { runId } = (await (await post('/shop/runs', { sku: 'c-3' })).json()) as { runId: string }
    await waitFor(async () => ['completed', 'failed'].includes((await state(runId)).status as string), 'the run to end')
    const badStep = await post(`/runs/${runId}/rerun`, { from: 'ship' })
    expect(badStep.status).toBe(400)
    const err = await errorOf(badStep)
    expect(err.code).toBe('INVALID_ARGUMENT')
    expect(err.message).toContain('"ship"')
    expect((await post(`/runs/${runId}/rerun`, { from: 5 })).status).toBe(400)
    expect((await post(`/runs/${runId}/rerun`, [1])).status).toBe(400)
    // a misspelt field is refused, not ignored (`form` would rerun every step), and nothing reruns
    const listRuns = async () => (await store.listRuns('shop', { limit: 1000 })).length
    const before = await listRuns()
    for (const body of [{ form: 'charge' }, { from: 'charge', idempotencykey: 'k' }]) {
      const res = await post(`/runs/${runId}/rerun`, body)
      expect(res.status).toBe(400)
      expect((await errorOf(res)).message).toMatch(/unknown field "(form|idempotencykey)": send only from and input/)
    }
    expect(await listRuns()).toBe(before)
    expect((await post(`/runs/${runId}/rerun`, {}, { 'x-deny': '1' })).status).toBe(403)
    expect((await fetch(`${server.origin}/flows/runs/${runId}/rerun`)).status).toBe(405)
  })

  it('404 without a runner that reruns', async () => {
    const { rerun: _, ...rest } = runner
    const handler = createHandler({ store, runner: { ...rest, flows: runner.flows } })
    const res = await handler(new Request('http://x/flows/runs/abc/rerun', { method: 'POST' }))
    expect(res.status).toBe(404)
  })
})
