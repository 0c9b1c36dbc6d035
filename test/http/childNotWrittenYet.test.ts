// A child's run id is in its parent's log (`step.await.run`) a moment before the child is written
// (the announcement goes first, on purpose: see carry in packages/runner/src/shell/apply.ts). A
// browser following the parent that asks for the child at once must not get 404 for a run id the
// system handed out: GET /runs/:runId, its events, its stream and its cancel wait a moment for it.
// On a real redis-server, through a real node:http server and fetch.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import type { EventRecord, FlowState } from '@leanflow/core'
import { createHandler } from '@leanflow/http'
import { toNodeHandler } from '@leanflow/http/node'
import { createRedisStreamStore } from '@leanflow/redis'
import { createMemoryQueue, createRunner, defineFlow, type RunnerStore } from '@leanflow/runner'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { logOf, sleep, waitEnd } from '../fixtures/runnerKit.js'
import { useRedisServer } from '../helpers/redisServer.js'
import { waitFor } from '../helpers/waitFor.js'

const kid = defineFlow({
  name: 'kid',
  steps: { k: { handler: async (input: { wait?: boolean }, ctx) => (input.wait ? ctx.await.time('1h') : 'kid done') } },
})
const par = defineFlow({
  name: 'par',
  steps: { p: { handler: async (_i, ctx) => Promise.allSettled([ctx.invoke(kid, {}), ctx.invoke(kid, { wait: true })]) } },
})

const redis = useRedisServer()
let store: RunnerStore
let server: http.Server
let base = ''
/** Lets the worker write the children it holds. */
let release = () => {}
const queue = createMemoryQueue()
const worker = () => runners[0]
const runners: Array<ReturnType<typeof createRunner>> = []

beforeAll(async () => {
  store = createRedisStreamStore({ url: redis.url, prefix: 'child-not-yet' })
  const released = new Promise<void>((r) => {
    release = r
  })
  // the worker's store holds the write of a child until released
  const held = new Proxy(store, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target)
      if (prop === 'createRun') {
        return async (...args: Parameters<RunnerStore['createRun']>) => {
          if ((args[2].data as { parent?: unknown } | undefined)?.parent !== undefined) await released
          return target.createRun(...args)
        }
      }
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
  runners.push(createRunner({ store: held, queue, flows: [par, kid], onError: () => {} }))
  runners.push(createRunner({ store, queue, flows: [par, kid], onError: () => {} }))
  await worker()?.start()
  server = http.createServer(toNodeHandler(createHandler({ store, runner: runners[1] })))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/flows`
})
afterAll(async () => {
  release()
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
  for (const r of runners) await r.stop()
  await queue.close()
  await store.close()
})

it('a child announced, not yet written: its state, events, stream and cancel answer once it is, not 404', async () => {
  const { runId } = await (runners[1] as ReturnType<typeof createRunner>).startFlow(par, {})
  await waitFor(async () => (await logOf(store, runId)).filter((e) => e.kind === 'step.await.run').length === 2, 'both announced')
  const [done, waiting] = (await logOf(store, runId))
    .filter((e) => e.kind === 'step.await.run')
    .map((e) => (e.data as { childRunId: string }).childRunId) as [string, string]
  expect(await store.read(done)).toEqual([]) // announced, not written yet

  const ac = new AbortController()
  const asked = [
    fetch(`${base}/runs/${done}`),
    fetch(`${base}/runs/${done}/events`),
    fetch(`${base}/runs/${done}/stream`, { signal: ac.signal }),
    fetch(`${base}/runs/${waiting}/cancel`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } }),
  ]
  await sleep(30)
  release()
  const [state, events, stream, cancel] = (await Promise.all(asked)) as [Response, Response, Response, Response]
  expect(state.status).toBe(200)
  expect(((await state.json()) as { state: FlowState }).state).toMatchObject({ runId: done, name: 'kid' })
  expect(events.status).toBe(200)
  expect(((await events.json()) as { events: EventRecord[] }).events[0]?.kind).toBe('flow.started')
  expect(stream.status).toBe(200)
  expect(stream.headers.get('content-type')).toContain('text/event-stream')
  ac.abort()
  expect(cancel.status).toBe(202)
  expect(await waitEnd(store, waiting)).toMatchObject({ kind: 'flow.canceled' })
  // a run id nobody handed out is still 404 (after the moment's wait)
  expect((await fetch(`${base}/runs/nobody`)).status).toBe(404)
})
