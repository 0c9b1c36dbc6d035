// Debounce over HTTP (design/flow-control.md, HTTP), with the real runner on the Redis store (real
// redis-server), through the handler and real servers (node:http, Express, Hono, h3) reached with
// fetch: the first POST /:flow/runs of a key opens a window, 201 { runId }; every later POST of
// the key within the window folds into that run, 201 { runId: <the same>, deduplicated: true },
// as runner.startFlow answers; another key is another run; a rerun the window takes says so too.
// Concurrent POSTs of one key give one run, one answer without `deduplicated`.
import { createHandler } from '@leanflow/http'
import { createRedisStreamStore, type RedisStreamStore } from '@leanflow/redis'
import { createRunner, defineFlow, type Runner } from '@leanflow/runner'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { describeMatrix, type MatrixTarget } from '../helpers/httpMatrix.js'
import { useRedisServer } from '../helpers/redisServer.js'
import { waitFor } from '../helpers/waitFor.js'

/** Calls of one user within 1 s fold into one run, admitted with the last call's input. */
const notify = defineFlow<{ u: string; n: number }>({
  name: 'notify',
  debounce: { period: '1s', key: (i) => i.u },
  steps: { send: { handler: async (i) => i.n } },
})

const redis = useRedisServer()
let store: RedisStreamStore
let runner: Runner

beforeAll(async () => {
  store = createRedisStreamStore({ url: redis.url, prefix: 'debounce' })
  runner = createRunner({ store, flows: [notify], onError: () => {} })
  await runner.start()
})
afterAll(async () => {
  await runner?.stop()
  await store?.close()
})

type Answer = { runId: string; deduplicated?: boolean }

async function post(t: MatrixTarget, path: string, body: unknown): Promise<Answer> {
  const res = await t.fetch(`/flows${path}`, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  })
  expect(res.status, await res.clone().text()).toBe(201)
  return (await res.json()) as Answer
}

describeMatrix(
  'POST /:flow/runs of a debounced flow',
  () => createHandler({ store, runner }),
  (t) => {
    it('a call within the window of its key answers the window’s run with deduplicated: true, as startFlow does', async () => {
      const u = `${t().transport}-a`
      const first = await post(t(), '/notify/runs', { u, n: 1 })
      expect(Object.keys(first)).toEqual(['runId'])
      expect(await post(t(), '/notify/runs', { u, n: 2 })).toEqual({ runId: first.runId, deduplicated: true })
      expect(await runner.startFlow('notify', { u, n: 3 })).toEqual({ runId: first.runId, deduplicated: true })
      expect(await post(t(), '/notify/runs', { u, n: 4 })).toEqual({ runId: first.runId, deduplicated: true })
      const other = await post(t(), '/notify/runs', { u: `${u}-other`, n: 1 })
      expect(other.deduplicated).toBeUndefined()
      expect(other.runId).not.toBe(first.runId)
      // one run, one flow.debounced per folded call, and it runs with the last input
      const events = await store.read(first.runId)
      expect(events.filter((e) => e.kind === 'flow.debounced')).toHaveLength(3)
      await waitFor(async () => (await store.read(first.runId)).some((e) => e.kind === 'flow.completed'), 'the run to complete', 10_000)
      const done = (await store.read(first.runId)).find((e) => e.kind === 'step.completed')
      expect((done?.data as { result?: unknown } | undefined)?.result).toBe(4)
    })

    it('concurrent calls of one key: one run, exactly one answer without deduplicated', async () => {
      const u = `${t().transport}-b`
      const answers = await Promise.all(Array.from({ length: 6 }, (_, n) => post(t(), '/notify/runs', { u, n })))
      expect(new Set(answers.map((a) => a.runId)).size).toBe(1)
      expect(answers.filter((a) => a.deduplicated === undefined)).toHaveLength(1)
      expect(answers.filter((a) => a.deduplicated === true)).toHaveLength(5)
    })

    it('a rerun the window of its key takes answers deduplicated: true', async () => {
      const u = `${t().transport}-c`
      const old = await runner.startFlow('notify', { u, n: 0 })
      await waitFor(async () => (await store.read(old.runId)).some((e) => e.kind === 'flow.completed'), 'the run to complete', 10_000)
      const open = await post(t(), '/notify/runs', { u, n: 1 })
      expect(await post(t(), `/runs/${old.runId}/rerun`, {})).toEqual({ runId: open.runId, deduplicated: true })
    })
  },
)
