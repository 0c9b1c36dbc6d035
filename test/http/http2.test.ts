// toNodeHandler on node:http2 (the compatibility API), which docs/http.md recommends for pages
// that follow many runs: routes, an SSE stream and a refused body answer as over HTTP/1.1, and
// Node prints no UnsupportedWarning (HTTP/2 has no reason phrase and no connection header).
import http2 from 'node:http2'
import type { AddressInfo } from 'node:net'
import { createMemoryStreamStore } from '@leanflow/core'
import { createHandler } from '@leanflow/http'
import { toNodeHandler } from '@leanflow/http/node'
import { createRunner, defineFlow } from '@leanflow/runner'
import { expect, it } from 'vitest'

const hello = defineFlow({ name: 'hello', steps: { g: { handler: async () => 'hi' } } })

it('answers over HTTP/2 without a warning: a start, a run, its SSE stream, a 413 and a 415', async () => {
  const warnings: string[] = []
  const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`)
  process.on('warning', onWarning)
  const store = createMemoryStreamStore()
  const runner = createRunner({ store, flows: [hello] })
  await runner.start()
  const server = http2.createServer(toNodeHandler(createHandler({ store, runner })))
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const client = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)
  const call = (path: string, method = 'GET', body?: string, type = 'application/json') =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const s = client.request({ ':method': method, ':path': path, ...(body === undefined ? {} : { 'content-type': type }) })
      let status = 0
      let text = ''
      s.setEncoding('utf8')
      s.on('response', (h) => {
        status = Number(h[':status'])
      })
      s.on('data', (d: string) => {
        text += d
      })
      s.on('end', () => resolve({ status, body: text }))
      s.on('error', reject)
      s.end(body)
    })
  try {
    const started = await call('/flows/hello/runs', 'POST', '{}')
    expect(started.status).toBe(201)
    const { runId } = JSON.parse(started.body) as { runId: string }
    await runner.result(runId, { timeout: '10s' })
    expect((await call(`/flows/runs/${runId}`)).status).toBe(200)
    const stream = await call(`/flows/runs/${runId}/stream?after=0-0`)
    expect(stream.status).toBe(200)
    expect(stream.body).toContain('"kind":"flow.completed"')
    expect((await call('/flows/hello/runs', 'POST', 'x'.repeat(1_100_000))).status).toBe(413)
    expect((await call('/flows/hello/runs', 'POST', '{}', 'text/plain')).status).toBe(415)
    await new Promise((r) => setImmediate(r))
    expect(warnings.filter((w) => w.startsWith('UnsupportedWarning'))).toEqual([])
  } finally {
    process.off('warning', onWarning)
    client.destroy()
    await runner.stop()
    await store.close()
    await new Promise((r) => server.close(r))
  }
})
