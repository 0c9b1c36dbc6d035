// watchRun (@leanflow/http/client) begun at or past the end of a run that already ended, with the
// real runner on the Redis store (real redis-server), through real servers (node:http, Express,
// Hono, h3) and the `eventsource` package: the stream answers 204 (DESIGN.md, SSE), and the watch
// ends as it does on `event: end` — onEnd once with the run's last event id and terminal kind, no
// onError, no event — also with an EventSource that hides the status, as a browser's does, and
// when `runs.read` is refused (the end is then the position, without its kind).
import type { EventRecord } from '@leanflow/core'
import { createHandler } from '@leanflow/http'
import { type EventSourceConstructor, type RunEnd, watchRun } from '@leanflow/http/client'
import { createRedisStreamStore, type RedisStreamStore } from '@leanflow/redis'
import { createRunner, defineFlow, type Runner } from '@leanflow/runner'
import { EventSource } from 'eventsource'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { BrowserLikeEventSource } from '../helpers/browserLikeEventSource.js'
import { describeMatrix } from '../helpers/httpMatrix.js'
import { useRedisServer } from '../helpers/redisServer.js'
import { waitFor } from '../helpers/waitFor.js'

const quick = defineFlow({ name: 'quick', steps: { a: { handler: async () => 1 } } })
const held = defineFlow({
  name: 'held',
  steps: {
    a: {
      handler: async (_i, ctx) => {
        const t = await ctx.await.trigger({ type: 'user', timeout: '1h' })
        return await t.wait()
      },
    },
  },
})

const redis = useRedisServer()
let store: RedisStreamStore
let runner: Runner

beforeAll(async () => {
  store = createRedisStreamStore({ url: redis.url, prefix: 'ended' })
  runner = createRunner({ store, flows: [quick, held], onError: () => {} })
  await runner.start()
})
afterAll(async () => {
  await runner?.stop()
  await store?.close()
})

/** A run of `quick` that completed, and its log. */
async function completedRun(): Promise<{ runId: string; events: EventRecord[] }> {
  const { runId } = await runner.startFlow('quick', null)
  await waitFor(async () => (await store.read(runId)).some((e) => e.kind === 'flow.completed'), 'the run to complete')
  return { runId, events: await store.read(runId) }
}

/** What a watch reported, until it ended or failed. */
function watch(url: string, ES: EventSourceConstructor) {
  const seen = { ends: [] as RunEnd[], errors: [] as Error[], events: 0 }
  const w = watchRun(url, {
    EventSource: ES,
    onEvent: () => seen.events++,
    onEnd: (end) => seen.ends.push(end),
    onError: (err) => seen.errors.push(err),
  })
  return { w, seen, settled: () => waitFor(() => seen.ends.length + seen.errors.length > 0, 'the watch to end or fail') }
}

describeMatrix(
  'watchRun of an ended run from its end',
  () => createHandler({ store, runner, retryMs: 50 }),
  (t) => {
    for (const [title, ES] of [
      ['the eventsource package', EventSource],
      ['an EventSource that hides the status', BrowserLikeEventSource],
    ] as const) {
      it(`?after= the last event id ends the watch with that event, no error (${title})`, async () => {
        const { runId, events } = await completedRun()
        const last = events.at(-1) as EventRecord
        const { w, seen, settled } = watch(`${t().origin}/flows/runs/${runId}/stream?after=${last.id}`, ES)
        await settled()
        await new Promise((r) => setTimeout(r, 100)) // nothing more comes
        expect(seen.errors).toEqual([])
        expect(seen.ends).toEqual([{ lastEventId: last.id, kind: 'flow.completed' }])
        expect(seen.events).toBe(0)
        w.close()
      })
    }

    it('?after= past the end of a canceled run ends with its real last event', async () => {
      const { runId } = await runner.startFlow('held', null)
      await waitFor(async () => (await store.read(runId)).some((e) => e.kind === 'step.await.trigger'), 'the await')
      await runner.cancel(runId)
      await waitFor(async () => (await store.read(runId)).some((e) => e.kind === 'flow.canceled'), 'the cancel')
      const last = (await store.read(runId)).at(-1) as EventRecord
      const past = `${Number(last.id.split('-')[0]) + 1000}-0`
      const { w, seen, settled } = watch(`${t().origin}/flows/runs/${runId}/stream?after=${past}`, EventSource)
      await settled()
      expect(seen.errors).toEqual([])
      expect(seen.ends).toEqual([{ lastEventId: last.id, kind: 'flow.canceled' }])
      w.close()
    })

    it('an unknown run is still an error (404 RUN_NOT_FOUND), never an end', async () => {
      const { w, seen, settled } = watch(`${t().origin}/flows/runs/no-such-run/stream`, EventSource)
      await settled()
      expect(seen.ends).toEqual([])
      expect(seen.errors).toHaveLength(1)
      // the status from the eventsource package, the code and message from the answer's body (docs/http.md)
      expect(seen.errors[0]).toMatchObject({ status: 404, code: 'RUN_NOT_FOUND' })
      expect(seen.errors[0]?.message).toMatch(/closed for good \(HTTP 404 RUN_NOT_FOUND: Run "no-such-run" does not exist/)
      w.close()
    })
  },
  ['node', 'express', 'hono', 'h3'],
)

describeMatrix(
  'watchRun of an ended run from its end, runs.read refused',
  () => createHandler({ store, runner, retryMs: 50, authorize: (_req, action) => action !== 'runs.read' }),
  (t) => {
    it('ends at the position it began at, with an empty kind, and no error', async () => {
      const { runId, events } = await completedRun()
      const last = events.at(-1) as EventRecord
      const { w, seen, settled } = watch(`${t().origin}/flows/runs/${runId}/stream?after=${last.id}`, EventSource)
      await settled()
      expect(seen.errors).toEqual([])
      expect(seen.ends).toEqual([{ lastEventId: last.id, kind: '' }])
      w.close()
    })
  },
  ['node'],
)

describeMatrix(
  'watchRun of an ended run from its end, authorized by a query token',
  // the stream token of docs/security.md, here granting runs.read too: EventSource sends no headers
  () =>
    createHandler({
      store,
      runner,
      retryMs: 50,
      authorize: (req) => ['ok', 'o?k'].includes(new URL(req.url).searchParams.get('token') ?? ''),
    }),
  (t) => {
    it('reads the end with the stream URL’s other query parameters (its kind is known)', async () => {
      const { runId, events } = await completedRun()
      const last = events.at(-1) as EventRecord
      // `limit` means nothing to the stream: the events request must not send it twice (400)
      for (const path of [`stream?token=ok&after=${last.id}`, `stream/?after=${last.id}&limit=5&token=ok`]) {
        const { w, seen, settled } = watch(`${t().origin}/flows/runs/${runId}/${path}`, EventSource)
        await settled()
        expect(seen.errors).toEqual([])
        expect(seen.ends).toEqual([{ lastEventId: last.id, kind: 'flow.completed' }])
        w.close()
      }
    })

    it('keeps a query value that holds a "?" (split at the first one only), for the end and after a reset', async () => {
      const { runId, events } = await completedRun()
      const last = events.at(-1) as EventRecord
      const ended = watch(`${t().origin}/flows/runs/${runId}/stream?token=o?k&after=${last.id}`, EventSource)
      await ended.settled()
      expect(ended.seen.errors).toEqual([])
      expect(ended.seen.ends).toEqual([{ lastEventId: last.id, kind: 'flow.completed' }])
      ended.w.close()
      // a position in a run the store does not have: reset, then the run from its start, with the token: 404, not 403
      const reset = watch(`${t().origin}/flows/runs/no-such-run/stream?token=o?k&after=1-0`, EventSource)
      await reset.settled()
      expect(reset.seen.errors).toHaveLength(1)
      expect(reset.seen.errors[0]).toMatchObject({ status: 404 })
      reset.w.close()
    })
  },
  ['node'],
)

describeMatrix(
  'watchRun of an unknown run on a server that wants a bearer token (getting-started.md)',
  () => createHandler({ store, runner, retryMs: 50, authorize: (req) => req.headers.get('authorization') === 'Bearer t0k' }),
  (t) => {
    const authorized: typeof fetch = (input, init) => fetch(input, { ...init, headers: { ...init?.headers, authorization: 'Bearer t0k' } })
    class AuthorizedEventSource extends EventSource {
      constructor(url: string | URL, init?: { withCredentials?: boolean }) {
        super(url, { ...init, fetch: authorized })
      }
    }
    it("with the fetch that authorizes the stream, the error has the server's code; without it, only the status", async () => {
      for (const [given, code] of [
        [authorized, 'RUN_NOT_FOUND'],
        [undefined, undefined],
      ] as const) {
        const seen = { errors: [] as Array<Error & { status?: number; code?: string }> }
        const w = watchRun(`${t().origin}/flows/runs/no-such-run/stream`, {
          EventSource: AuthorizedEventSource,
          fetch: given,
          onError: (err) => seen.errors.push(err),
        })
        await waitFor(() => seen.errors.length > 0, 'the watch to fail')
        expect(seen.errors[0]?.status).toBe(404)
        expect(seen.errors[0]?.code).toBe(code)
        w.close()
      }
    })
  },
  ['node', 'express', 'hono', 'h3'],
)
