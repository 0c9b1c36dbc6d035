// watchRun (@leanflow/http/client) in a browser, whose EventSource hides the status of a failed
// stream (watchRun then asks it with fetch): a proxy that answers the stream once with 502, then
// passes it, is followed again from the last event seen, to the run's end, without loss. Before,
// the re-ask's 200 was taken for the refusal: "closed for good (HTTP 200)", the watch over (and
// the dashboard with it). A stream that keeps failing while fetch gets 200 (an EventSource cannot
// send fetch's headers: a stale stream token) is refused after a few tries, saying so.
// Real servers (a node:http proxy in front of the handler), the runner on the memory store.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createMemoryStreamStore, reduceFlow } from '@leanflow/core'
import { createHandler } from '@leanflow/http'
import { type RunEnd, watchRun } from '@leanflow/http/client'
import { toNodeHandler } from '@leanflow/http/node'
import { createRunner, defineFlow } from '@leanflow/runner'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { BrowserLikeEventSource } from '../helpers/browserLikeEventSource.js'
import { waitFor } from '../helpers/waitFor.js'

const held = defineFlow({
  name: 'held',
  steps: {
    a: { handler: async (_i, ctx) => (await (await ctx.await.trigger({ type: 'user', timeout: '1h' })).wait()) as unknown },
    b: { needs: ['a'], handler: async () => 'done' },
  },
})
const store = createMemoryStreamStore()
const runner = createRunner({ store, flows: [held], onError: () => {} })
const node = toNodeHandler(createHandler({ store, runner, retryMs: 50 }))
/** What the proxy does to the EventSource's stream requests (fetch's asks pass): 502 the next `failNext`, or every one. */
const proxy = { failNext: 0, failAll: false, refused: 0 }
let server: Server
let base = ''

beforeAll(async () => {
  await runner.start()
  server = createServer((req, res) => {
    // an EventSource asks for text/event-stream alone; watchRun's fetch also takes JSON
    const fromEventSource = req.url?.includes('/stream') && req.headers.accept === 'text/event-stream'
    if (fromEventSource && (proxy.failAll || proxy.failNext > 0)) {
      proxy.failNext--
      proxy.refused++
      res.writeHead(502, { 'content-type': 'text/html' }).end('<h1>502 Bad Gateway</h1>')
      return
    }
    void node(req, res)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/flows`
})
afterAll(async () => {
  server?.closeAllConnections()
  await new Promise((resolve) => server?.close(resolve))
  await runner.stop()
  await store.close()
})

function watch(runId: string) {
  const seen = { ends: [] as RunEnd[], errors: [] as Array<Error & { status?: number }>, connection: [] as string[] }
  const w = watchRun(`${base}/runs/${runId}/stream`, {
    EventSource: BrowserLikeEventSource,
    onEnd: (info) => seen.ends.push(info),
    onError: (err) => seen.errors.push(err),
    onConnection: (c) => seen.connection.push(c),
  })
  return { w, seen }
}

it('a proxy’s one 502 to the stream: followed again from the last event seen, to the end, each event once', async () => {
  const { runId } = await runner.startFlow(held, {})
  await waitFor(async () => (await store.read(runId)).some((e) => e.kind === 'step.await.trigger'), 'the trigger awaited')
  proxy.failNext = 1
  const { w, seen } = watch(runId)
  await waitFor(() => seen.connection.includes('open'), 'the stream followed again')
  expect(proxy.refused).toBe(1)
  const trigger = (await store.read(runId)).find((e) => e.kind === 'step.await.trigger')?.data as { triggerId: string }
  await runner.resolveTrigger(trigger.triggerId, 'ok')
  await waitFor(() => seen.ends.length + seen.errors.length > 0, 'the watch to end')
  expect(seen.errors).toEqual([])
  expect(seen.ends[0]?.kind).toBe('flow.completed')
  expect(seen.connection.slice(0, 2)).toEqual(['retrying', 'open'])
  expect(w.state).toEqual(reduceFlow(await store.read(runId)))
})

it('a stream that keeps failing while fetch gets 200 is refused after a few tries, saying why', async () => {
  const { runId } = await runner.startFlow(held, {})
  proxy.failAll = true
  proxy.refused = 0
  try {
    const { seen } = watch(runId)
    await waitFor(() => seen.errors.length > 0, 'the watch to give up', 15_000)
    expect(proxy.refused).toBe(4)
    expect(seen.errors[0]?.status).toBe(200)
    expect(seen.errors[0]?.message).toMatch(/failed 4 times, yet answers fetch with HTTP 200: an EventSource sends no fetch headers/)
    expect(seen.ends).toEqual([])
  } finally {
    proxy.failAll = false
    await runner.cancel(runId)
  }
})
