// The depth limit on values is the same over HTTP as in a process (MAX_JSON_DEPTH levels of the
// value itself): event data and a rerun's input sit one level inside their bodies ({ kind, data },
// { input }), so a value exactly MAX_JSON_DEPTH deep is taken by both, and one level more is
// refused by both, nothing stored. Through a real node:http server and fetch, with the real
// runner on the memory store.
import { createMemoryStreamStore, MAX_JSON_DEPTH } from '@leanflow/core'
import { createHandler } from '@leanflow/http'
import { createRunner, defineFlow } from '@leanflow/runner'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { errorOf, type RunningServer, startServer } from '../helpers/httpMatrix.js'

/** `levels` arrays, one inside the other, as JSON text. */
const nested = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`

const store = createMemoryStreamStore()
const flow = defineFlow({ name: 'deep', steps: { a: { handler: async () => 'a' } } })
const runner = createRunner({ store, flows: [flow] })
let server: RunningServer

beforeAll(async () => {
  await runner.start()
  server = await startServer('node', createHandler({ store, runner, basePath: '/flows' }))
})
afterAll(async () => {
  await server?.stop()
  await runner.stop()
  await store.close()
})

const post = (path: string, body: string) =>
  fetch(`${server.origin}/flows${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })

it(`POST /events takes data ${MAX_JSON_DEPTH} levels deep, as publishEvent does, and refuses one more, as publishEvent does`, async () => {
  const ok = await post('/events', `{"kind":"deep.ok","data":${nested(MAX_JSON_DEPTH)}}`)
  expect(ok.status).toBe(202)
  await expect(runner.publishEvent({ kind: 'deep.ok', data: JSON.parse(nested(MAX_JSON_DEPTH)) })).resolves.toMatchObject({})

  const over = await post('/events', `{"kind":"deep.over","data":${nested(MAX_JSON_DEPTH + 1)}}`)
  expect(over.status).toBe(400)
  expect((await errorOf(over)).code).toBe('INVALID_ARGUMENT')
  await expect(runner.publishEvent({ kind: 'deep.over', data: JSON.parse(nested(MAX_JSON_DEPTH + 1)) })).rejects.toMatchObject({
    code: 'INVALID_ARGUMENT',
  })
  // a body deeper still is refused before it is parsed into anything stored
  expect((await post('/events', `{"kind":"deep.over","data":${nested(MAX_JSON_DEPTH + 2)}}`)).status).toBe(400)
})

it(`POST /runs/:id/rerun takes an input ${MAX_JSON_DEPTH} levels deep and refuses one more`, async () => {
  const { runId } = await runner.startFlow(flow, {})
  await runner.result(runId, { timeout: '10s' })
  const ok = await post(`/runs/${runId}/rerun`, `{"input":${nested(MAX_JSON_DEPTH)}}`)
  expect(ok.status).toBe(201)
  const over = await post(`/runs/${runId}/rerun`, `{"input":${nested(MAX_JSON_DEPTH + 1)}}`)
  expect(over.status).toBe(400)
  expect((await errorOf(over)).code).toBe('INVALID_ARGUMENT')
})

it(`POST /:flow/runs takes an input ${MAX_JSON_DEPTH} levels deep (the body is the input) and refuses one more`, async () => {
  expect((await post('/deep/runs', nested(MAX_JSON_DEPTH))).status).toBe(201)
  expect((await post('/deep/runs', nested(MAX_JSON_DEPTH + 1))).status).toBe(400)
})
