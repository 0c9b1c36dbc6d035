// A child's run id is in its parent's log (`step.await.run`) only once the child is written: a
// browser following the parent that asks for the child at once finds it (its state, its events,
// its stream, its cancel), never a 404 for a run id the system handed out. The worker's store
// holds each child's write for a moment, so an announcement sent before it would be seen first.
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
const queue = createMemoryQueue()
const runners: Array<ReturnType<typeof createRunner>> = []

beforeAll(async () => {
  store = createRedisStreamStore({ url: redis.url, prefix: 'child-announced' })
  // the worker's store writes each child 150 ms late
  const slow = new Proxy(store, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target)
      if (prop === 'createRun') {
        return async (...args: Parameters<RunnerStore['createRun']>) => {
          if ((args[2].data as { parent?: unknown } | undefined)?.parent !== undefined) await sleep(150)
          return target.createRun(...args)
        }
      }
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
  runners.push(createRunner({ store: slow, queue, flows: [par, kid], onError: () => {} }))
  runners.push(createRunner({ store, queue, flows: [par, kid], onError: () => {} }))
  await runners[0]?.start()
  server = http.createServer(toNodeHandler(createHandler({ store, runner: runners[1] })))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/flows`
})
afterAll(async () => {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
  for (const r of runners) await r.stop()
  await queue.close()
  await store.close()
})

it('a child announced in its parent’s log is there: its state, events, stream and cancel answer at once, not 404', async () => {
  const { runId } = await (runners[1] as ReturnType<typeof createRunner>).startFlow(par, {})
  // polled as a browser following the parent sees it: the first announcement, at once
  const announced = await poll(async () => (await logOf(store, runId)).find((e) => e.kind === 'step.await.run'), 'a child announced')
  const childIds = (await logOf(store, runId))
    .filter((e) => e.kind === 'step.await.run')
    .map((e) => (e.data as { childRunId: string }).childRunId)
  const childId = (announced.data as { childRunId: string }).childRunId
  const ac = new AbortController()
  const [state, events, stream] = await Promise.all([
    fetch(`${base}/runs/${childId}`),
    fetch(`${base}/runs/${childId}/events`),
    fetch(`${base}/runs/${childId}/stream`, { signal: ac.signal }),
  ])
  expect(state.status).toBe(200)
  expect(((await state.json()) as { state: FlowState }).state).toMatchObject({ runId: childId, name: 'kid' })
  expect(events.status).toBe(200)
  expect(((await events.json()) as { events: EventRecord[] }).events[0]?.kind).toBe('flow.started')
  expect(stream.status).toBe(200)
  expect(stream.headers.get('content-type')).toContain('text/event-stream')
  ac.abort()
  // every child announced by then, the waiting one too: canceled through the API
  for (const id of childIds) expect((await store.read(id, { limit: 1 }))[0]?.kind).toBe('flow.started')
  const waiting = await poll(async () => {
    const ids = (await logOf(store, runId))
      .filter((e) => e.kind === 'step.await.run')
      .map((e) => (e.data as { childRunId: string }).childRunId)
    for (const id of ids) if ((await logOf(store, id)).some((e) => e.kind === 'step.await.time')) return id
    return undefined
  }, 'the waiting child')
  const cancel = await fetch(`${base}/runs/${waiting}/cancel`, {
    method: 'POST',
    body: '{}',
    headers: { 'content-type': 'application/json' },
  })
  expect(cancel.status).toBe(202)
  expect(await waitEnd(store, waiting)).toMatchObject({ kind: 'flow.canceled' })
})

/** `find()` once it answers something, looked for every millisecond or so (a browser sees an event as soon as it is stored). */
async function poll<T>(find: () => Promise<T | undefined>, what: string, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const found = await find()
    if (found !== undefined) return found
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(1)
  }
}
