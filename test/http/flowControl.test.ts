// The flow-control additions of @leanflow/http (issue #14), with the real runner on the memory
// store, through the handler in-process and real servers (node:http, Express, Hono, h3) reached
// with fetch: POST /:flow/runs answers `deduplicated: true` when a singleton skipped the call,
// takes a `Leanflow-Priority` header (400 when bad; it orders a limit's queue), and answers 429
// RATE_LIMITED with Retry-After for a rateLimit in drop mode; GET /:flow/limits lists the limits
// in use (a concurrency limit holding one run, one queued), 404 for an unknown flow, 405, 400;
// authorize gets `limits.read` and its refusal is 403; without a runner (or one without
// `limits`) the route is 404. A structural stub runner pins what reaches `startFlow` and the
// Retry-After rounding.
import { createMemoryStreamStore, RateLimitedError } from '@leanflow/core'
import { createHandler, type HandlerAction, type HandlerRunner, type RouteParams } from '@leanflow/http'
import { defineFlow } from '@leanflow/runner'
import { beforeEach, describe, expect, it } from 'vitest'
import { deferred } from '../fixtures/runnerKit.js'
import { useStartedRunner } from '../fixtures/runnerOnStores.js'
import { describeMatrix, errorOf, type MatrixTarget, TRANSPORTS } from '../helpers/httpMatrix.js'
import { waitFor } from '../helpers/waitFor.js'

/** Gates by name: a step handler waits for its gate; `open(name)` lets it (and later ones) through. */
const gates = new Map<string, ReturnType<typeof deferred<void>>>()
const gate = (name: string) => {
  let g = gates.get(name)
  if (g === undefined) {
    g = deferred()
    gates.set(name, g)
  }
  return g
}
const open = (name: string) => gate(name).resolve()

/** One active run per user; the step waits for the gate named after the user. */
const single = defineFlow<{ u: string }>({
  name: 'single',
  singleton: { key: (i) => i.u },
  steps: { hold: { handler: async (i) => gate(`single-${i.u}`).promise } },
})
/** One admission per 10 s, the excess refused. Keyed per transport, so each transport has its own window. */
const limited = defineFlow<{ k: string }>({
  name: 'limited',
  rateLimit: { limit: 1, period: '10s', key: (i) => i.k, mode: 'drop' },
  steps: { a: { handler: async () => 1 } },
})
/** One run at a time (no key: one line for all); the step waits for the gate named by the input. */
const held = defineFlow<{ g: string }>({
  name: 'held',
  concurrency: { limit: 1 },
  steps: { a: { handler: async (i) => gate(i.g).promise } },
})
/** One run at a time per key; records the order the steps ran in. */
const order: string[] = []
const ranked = defineFlow<{ k: string; tag: string }>({
  name: 'ranked',
  concurrency: { limit: 1, key: (i) => i.k },
  steps: {
    a: {
      handler: async (i) => {
        order.push(i.tag)
        await gate(`ranked-${i.k}`).promise
      },
    },
  },
})
const plain = defineFlow({ name: 'plain', steps: { a: { handler: async () => 1 } } })

const post = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: 'POST',
  body: JSON.stringify(body),
  headers: { 'content-type': 'application/json', ...headers },
})

interface Limit {
  scope: string
  kind: string
  key: string
  active: number
  queued: number
}

async function start(t: MatrixTarget, flow: string, input: unknown, headers?: Record<string, string>) {
  const res = await t.fetch(`/flows/${flow}/runs`, post(input, headers))
  expect(res.status).toBe(201)
  return (await res.json()) as { runId: string; deduplicated?: boolean }
}

async function statusOf(t: MatrixTarget, runId: string): Promise<string> {
  const res = await t.fetch(`/flows/runs/${runId}`)
  return ((await res.json()) as { state: { status: string } }).state.status
}

async function limitsOf(t: MatrixTarget, flow: string): Promise<Limit[]> {
  const res = await t.fetch(`/flows/${flow}/limits`)
  expect(res.status).toBe(200)
  expect(res.headers.get('content-type')).toMatch(/^application\/json/)
  return ((await res.json()) as { limits: Limit[] }).limits
}

describe('flow control over HTTP (memory store)', () => {
  const started = useStartedRunner(() => createMemoryStreamStore(), [single, limited, held, ranked, plain])
  const runner = () => started.runner()

  describeMatrix(
    'flow-control routes',
    () => createHandler({ store: started.store(), runner: runner() }),
    (t) => {
      it('POST /:flow/runs: 201 { runId } for a new run, 201 { runId, deduplicated: true } when a singleton skipped the call', async () => {
        const u = t().transport
        const first = await start(t(), 'single', { u })
        expect(Object.keys(first)).toEqual(['runId'])
        const again = await start(t(), 'single', { u })
        expect(again).toEqual({ runId: first.runId, deduplicated: true })
        // another key is another run
        const other = await start(t(), 'single', { u: `${u}-2` })
        expect(other.deduplicated).toBeUndefined()
        expect(other.runId).not.toBe(first.runId)
        expect((await started.store().listRuns('single')).filter((r) => r.runId === first.runId)).toHaveLength(1)
        open(`single-${u}`)
        open(`single-${u}-2`)
        await waitFor(async () => (await statusOf(t(), first.runId)) === 'completed', 'the singleton run to complete')
        // once it ended, the key starts a new run (no deduplicated)
        let next: { runId: string; deduplicated?: boolean } = first
        await waitFor(async () => {
          next = await start(t(), 'single', { u })
          return next.runId !== first.runId
        }, 'a new run after the first ended')
        expect(next.deduplicated).toBeUndefined()
      })

      it('POST /:flow/runs of a full rateLimit in drop mode: 429 RATE_LIMITED with Retry-After in whole seconds; nothing started', async () => {
        const k = t().transport
        const ok = await start(t(), 'limited', { k })
        const before = (await started.store().listRuns('limited')).length
        const res = await t().fetch('/flows/limited/runs', post({ k }))
        expect(res.status).toBe(429)
        expect(res.headers.get('content-type')).toMatch(/^application\/json/)
        const error = await errorOf(res)
        expect(error.code).toBe('RATE_LIMITED')
        expect(error.message).toContain('"limited"')
        // the header is retryAfterMs (named in the message) rounded up to seconds: 10 s window, just used
        const ms = Number(/retry in (\d+) ms/.exec(error.message)?.[1])
        expect(ms).toBeGreaterThan(0)
        expect(ms).toBeLessThanOrEqual(10_000)
        const retryAfter = res.headers.get('retry-after')
        expect(retryAfter).toMatch(/^\d+$/)
        expect(Number(retryAfter)).toBe(Math.max(1, Math.ceil(ms / 1000)))
        expect([9, 10]).toContain(Number(retryAfter))
        expect((await started.store().listRuns('limited')).length).toBe(before)
        await waitFor(async () => (await statusOf(t(), ok.runId)) === 'completed', 'the admitted run to complete')
      })

      it('GET /:flow/limits: a concurrency limit of 1 holding one run and one queued, then none', async () => {
        const g = `held-${t().transport}`
        const a = await start(t(), 'held', { g })
        const b = await start(t(), 'held', { g })
        await waitFor(async () => (await statusOf(t(), b.runId)) === 'queued', 'the second run to be queued')
        await waitFor(async () => (await limitsOf(t(), 'held')).some((l) => l.queued === 1), 'the limit to show the queued run')
        expect(await limitsOf(t(), 'held')).toEqual([{ scope: 'flow', kind: 'concurrency', key: '', active: 1, queued: 1 }])
        expect(await statusOf(t(), a.runId)).toBe('running')
        // the trailing slash is ignored, like on every route
        expect((await t().fetch('/flows/held/limits/')).status).toBe(200)
        open(g)
        for (const id of [a.runId, b.runId]) await waitFor(async () => (await statusOf(t(), id)) === 'completed', 'both runs to complete')
        await waitFor(async () => (await limitsOf(t(), 'held')).every((l) => l.active === 0 && l.queued === 0), 'no slot held')
        // a flow without flow control has no limits
        expect(await limitsOf(t(), 'plain')).toEqual([])
      })

      it('Leanflow-Priority orders a limit’s queue: the higher priority is admitted first', async () => {
        const k = t().transport
        order.length = 0
        const hold = await start(t(), 'ranked', { k, tag: 'hold' })
        await waitFor(() => order.includes('hold'), 'the first run to hold the slot')
        const low = await start(t(), 'ranked', { k, tag: 'low' }, { 'leanflow-priority': '-5' })
        const mid = await start(t(), 'ranked', { k, tag: 'mid' })
        const high = await start(t(), 'ranked', { k, tag: 'high' }, { 'leanflow-priority': '10' })
        await waitFor(
          async () => (await limitsOf(t(), 'ranked')).some((l) => l.key === k && l.queued === 3),
          'three runs queued behind the first',
        )
        open(`ranked-${k}`)
        for (const r of [hold, low, mid, high]) {
          await waitFor(async () => (await statusOf(t(), r.runId)) === 'completed', 'the ranked runs to complete')
        }
        expect(order).toEqual(['hold', 'high', 'mid', 'low'])
      })

      it('a bad Leanflow-Priority is 400 INVALID_ARGUMENT, and nothing is started', async () => {
        const before = (await started.store().listRuns('plain')).length
        for (const value of ['101', '-101', '1.5', 'high', '', '1e2', '0x10']) {
          const res = await t().fetch('/flows/plain/runs', post({}, { 'leanflow-priority': value }))
          expect(res.status, value).toBe(400)
          const error = await errorOf(res)
          expect(error.code).toBe('INVALID_ARGUMENT')
          expect(error.message).toContain('Leanflow-Priority')
        }
        expect((await started.store().listRuns('plain')).length).toBe(before)
        // the edges are fine
        for (const value of ['100', '-100', '0']) {
          expect((await t().fetch('/flows/plain/runs', post({}, { 'leanflow-priority': value }))).status, value).toBe(201)
        }
      })

      it('a traceparent header is kept in flow.started.meta (W3C trace context); a malformed one is 400 and starts nothing', async () => {
        const tp = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
        const res = await t().fetch('/flows/plain/runs', post({}, { traceparent: tp }))
        expect(res.status).toBe(201)
        const { runId } = (await res.json()) as { runId: string }
        const [first] = await started.store().read(runId, { limit: 1 })
        expect(first?.kind).toBe('flow.started')
        expect(first?.meta).toMatchObject({ traceparent: tp })
        const before = (await started.store().listRuns('plain')).length
        for (const value of ['00-xyz-00f067aa0ba902b7-01', '00-00000000000000000000000000000000-00f067aa0ba902b7-01', 'nope']) {
          const bad = await t().fetch('/flows/plain/runs', post({}, { traceparent: value }))
          expect(bad.status, value).toBe(400)
          const error = await errorOf(bad)
          expect(error.code).toBe('INVALID_ARGUMENT')
          expect(error.message).toContain('traceparent')
        }
        expect((await started.store().listRuns('plain')).length).toBe(before)
      })

      it('GET /:flow/limits of an unknown flow is 404 FLOW_NOT_FOUND; other methods 405; bad names 400', async () => {
        const ghost = await t().fetch('/flows/ghost/limits')
        expect(ghost.status).toBe(404)
        const error = await errorOf(ghost)
        expect(error.code).toBe('FLOW_NOT_FOUND')
        expect(error.message).toContain('"ghost"')
        const postIt = await t().fetch('/flows/held/limits', post({}))
        expect(postIt.status).toBe(405)
        expect(postIt.headers.get('allow')).toBe('GET')
        const bad = await t().fetch('/flows/a%3Ab/limits')
        expect(bad.status).toBe(400)
        expect((await errorOf(bad)).code).toBe('INVALID_NAME')
      })

      it('`limits` after a reserved first segment is not a flow’s limits: /runs/limits is the run "limits"', async () => {
        const run = await t().fetch('/flows/runs/limits')
        expect(run.status).toBe(404)
        expect((await errorOf(run)).code).toBe('RUN_NOT_FOUND')
        for (const path of ['/flows/schedules/limits', '/flows/events/limits', '/flows/held/limits/x']) {
          const res = await t().fetch(path)
          expect(res.status, path).toBe(404)
          expect((await errorOf(res)).code).toBe('NOT_FOUND')
        }
      })
    },
    TRANSPORTS,
  )

  describe('authorize', () => {
    const calls: Array<{ action: HandlerAction; params: RouteParams }> = []
    let allow = true
    beforeEach(() => {
      calls.length = 0
      allow = true
    })
    describeMatrix(
      'limits.read',
      () =>
        createHandler({
          store: started.store(),
          runner: runner(),
          authorize: (_req, action, params) => {
            calls.push({ action, params })
            return allow
          },
        }),
      (t) => {
        it('is asked with limits.read and the flow', async () => {
          expect(await limitsOf(t(), 'held')).toBeInstanceOf(Array)
          expect((await t().fetch('/flows/ghost/limits')).status).toBe(404)
          expect(calls).toEqual([
            { action: 'limits.read', params: { flow: 'held' } },
            { action: 'limits.read', params: { flow: 'ghost' } },
          ])
        })

        it('refusing it is 403 FORBIDDEN, also for an unknown flow (the caller learns nothing of which flows exist)', async () => {
          allow = false
          for (const flow of ['held', 'ghost']) {
            const res = await t().fetch(`/flows/${flow}/limits`)
            expect(res.status).toBe(403)
            expect((await errorOf(res)).code).toBe('FORBIDDEN')
          }
          expect(calls.map((c) => c.action)).toEqual(['limits.read', 'limits.read'])
        })
      },
      ['handler', 'node'],
    )
  })
})

describe('without runner.limits', () => {
  const store = createMemoryStreamStore()
  // a runner typed structurally, as @leanflow/http sees one, that has no limits
  const bare: HandlerRunner = {
    flows: [{ name: 'sync' }],
    startFlow: async () => ({ runId: 'r1' }),
    cancel: async () => {},
    resolveTrigger: async () => ({ runId: 'r1', step: 's' }),
    publishEvent: async () => ({ id: '1-0' }),
  }
  for (const [title, runner] of [
    ['no runner', undefined],
    ['a runner without limits', bare],
  ] as const) {
    describeMatrix(
      title,
      () => createHandler({ store, runner, authorize: () => false }),
      (t) => {
        it('GET /:flow/limits is 404 NOT_FOUND (before authorize, which refuses all)', async () => {
          const res = await t().fetch('/flows/sync/limits')
          expect(res.status).toBe(404)
          const error = await errorOf(res)
          expect(error.code).toBe('NOT_FOUND')
          expect(error.message).toContain('needs a runner')
          // the names are still checked first
          expect((await t().fetch('/flows/a%3Ab/limits')).status).toBe(400)
        })
      },
      ['handler', 'node'],
    )
  }
})

describe('what reaches the runner (structural stub)', () => {
  const store = createMemoryStreamStore()
  const seen: unknown[] = []
  let answer: () => Promise<{ runId: string; deduplicated?: boolean }> = async () => ({ runId: 'r1' })
  const stub: HandlerRunner = {
    flows: [{ name: 'sync' }],
    startFlow: async (_name, _input, opts) => {
      seen.push(opts)
      return answer()
    },
    cancel: async () => {},
    resolveTrigger: async () => ({ runId: 'r1', step: 's' }),
    publishEvent: async () => ({ id: '1-0' }),
    limits: async () => ({ limits: [{ scope: 'fetch', kind: 'rateLimit', key: 'api-1', active: 3, queued: 0 }] }),
  }
  beforeEach(() => {
    seen.length = 0
    answer = async () => ({ runId: 'r1' })
  })
  describeMatrix(
    'stub runner',
    () => createHandler({ store, runner: stub }),
    (t) => {
      it('passes Idempotency-Key and Leanflow-Priority as startFlow options (none: no options)', async () => {
        await start(t(), 'sync', {})
        await start(t(), 'sync', {}, { 'leanflow-priority': '7' })
        await start(t(), 'sync', {}, { 'idempotency-key': 'k-1', 'leanflow-priority': '-100' })
        await start(t(), 'sync', {}, { 'leanflow-priority': '+3' })
        expect(seen).toEqual([undefined, { priority: 7 }, { idempotencyKey: 'k-1', priority: -100 }, { priority: 3 }])
      })

      it('sends deduplicated only when it is true', async () => {
        answer = async () => ({ runId: 'r2', deduplicated: false })
        expect(await start(t(), 'sync', {})).toEqual({ runId: 'r2' })
        answer = async () => ({ runId: 'r2', deduplicated: true })
        expect(await start(t(), 'sync', {})).toEqual({ runId: 'r2', deduplicated: true })
      })

      it('Retry-After is retryAfterMs rounded up to whole seconds, at least 1', async () => {
        for (const [ms, s] of [
          [0, '1'],
          [1, '1'],
          [1000, '1'],
          [1001, '2'],
          [2500, '3'],
          [59_999, '60'],
        ] as const) {
          answer = async () => {
            throw new RateLimitedError('sync', 'k', ms)
          }
          const res = await t().fetch('/flows/sync/runs', post({}))
          expect(res.status).toBe(429)
          expect(res.headers.get('retry-after'), String(ms)).toBe(s)
          expect(await res.json()).toEqual({ error: { code: 'RATE_LIMITED', message: expect.stringContaining('rate limited') } })
        }
      })

      it('GET /:flow/limits sends the runner’s list as is', async () => {
        expect(await limitsOf(t(), 'sync')).toEqual([{ scope: 'fetch', kind: 'rateLimit', key: 'api-1', active: 3, queued: 0 }])
      })
    },
    ['handler', 'node'],
  )
})
