// The `traceparent` header of POST /:flow/runs and POST /runs/:runId/rerun (docs/http.md: "400
// INVALID_ARGUMENT when malformed"), with the real runner on the Redis store (real
// redis-server), through the handler and real servers: every value W3C trace context calls
// invalid (upper-case hex, version ff, all-zero ids, a version-00 value with more fields, an
// empty header, two headers joined by a comma) is 400 INVALID_ARGUMENT naming the header and a
// valid example, and nothing is started or rerun; a valid one is kept in flow.started.meta; other
// routes ignore the header.
import { createHandler } from '@leanflow/http'
import { createRedisStreamStore, type RedisStreamStore } from '@leanflow/redis'
import { createRunner, defineFlow, type Runner } from '@leanflow/runner'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { describeMatrix, errorOf } from '../helpers/httpMatrix.js'
import { useRedisServer } from '../helpers/redisServer.js'
import { waitFor } from '../helpers/waitFor.js'

const plain = defineFlow({ name: 'plain', steps: { a: { handler: async () => 1 } } })
const VALID = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
const INVALID = [
  '',
  '00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01',
  'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
  '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
  '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
  `${VALID}-extra`,
  // a later version may add fields, only after a '-', and its ids are checked all the same
  'cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x',
  'cc-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01-x',
  '00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01',
  `${VALID}, ${VALID}`,
]

const redis = useRedisServer()
let store: RedisStreamStore
let runner: Runner
let done: string

beforeAll(async () => {
  store = createRedisStreamStore({ url: redis.url, prefix: 'tp' })
  runner = createRunner({ store, flows: [plain], onError: () => {} })
  await runner.start()
  done = (await runner.startFlow('plain', null)).runId
  await waitFor(async () => (await store.read(done)).some((e) => e.kind === 'flow.completed'), 'the run to complete')
})
afterAll(async () => {
  await runner?.stop()
  await store?.close()
})

const post = (traceparent: string | string[]): RequestInit => {
  const headers = new Headers({ 'content-type': 'application/json' })
  for (const v of [traceparent].flat()) headers.append('traceparent', v)
  return { method: 'POST', body: '{}', headers }
}

describeMatrix(
  'the traceparent header',
  () => createHandler({ store, runner }),
  (t) => {
    it('a malformed one is 400 INVALID_ARGUMENT naming the header and a valid value; nothing is started', async () => {
      const before = (await store.listRuns('plain')).length
      for (const value of [...INVALID, [VALID, VALID]]) {
        for (const path of ['/flows/plain/runs', `/flows/runs/${done}/rerun`]) {
          const res = await t().fetch(path, post(value))
          expect({ value, path, status: res.status }).toEqual({ value, path, status: 400 })
          const error = await errorOf(res)
          expect(error.code).toBe('INVALID_ARGUMENT')
          expect(error.message).toContain('traceparent')
          expect(error.message).toContain(VALID)
        }
      }
      expect((await store.listRuns('plain')).length).toBe(before)
    })

    it('a valid one is kept in flow.started.meta; routes that start nothing ignore the header', async () => {
      const res = await t().fetch('/flows/plain/runs', post(VALID))
      expect(res.status).toBe(201)
      const { runId } = (await res.json()) as { runId: string }
      expect((await store.read(runId, { limit: 1 }))[0]?.meta).toMatchObject({ traceparent: VALID })
      // a later version than 00 with more fields after the flags (W3C: a parser reads the first four)
      const future = 'cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-ever'
      const later = await t().fetch('/flows/plain/runs', post(future))
      expect(later.status).toBe(201)
      const { runId: laterId } = (await later.json()) as { runId: string }
      expect((await store.read(laterId, { limit: 1 }))[0]?.meta).toMatchObject({ traceparent: future })
      const read = await t().fetch(`/flows/runs/${runId}`, { headers: { traceparent: 'nope' } })
      expect(read.status).toBe(200)
    })
  },
)
