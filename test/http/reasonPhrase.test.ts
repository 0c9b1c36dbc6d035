// Every adapter sends a status line with its reason phrase ("HTTP/1.1 404 Not Found"), read off a
// raw TCP socket: a Response built without a statusText must not give "HTTP/1.1 200 " (h3's srvx
// writes the Response's statusText as it is, so the handler's answers carry one).
import { createServer, type Server } from 'node:http'
import { type AddressInfo, connect } from 'node:net'
import { createMemoryStreamStore } from '@leanflow/core'
import { createHandler } from '@leanflow/http'
import { toExpressHandler } from '@leanflow/http/express'
import { toH3Handler } from '@leanflow/http/h3'
import { toNodeHandler } from '@leanflow/http/node'
import { createRunner, defineFlow } from '@leanflow/runner'
import express from 'express'
import { H3, toNodeHandler as h3ToNode } from 'h3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const store = createMemoryStreamStore()
const runner = createRunner({ store, flows: [defineFlow({ name: 'f', steps: { a: { handler: async () => 1 } } })] })
const handler = createHandler({ store, runner })
const servers: Record<string, Server> = {}

beforeAll(async () => {
  const app = express()
  app.use('/flows', toExpressHandler(handler))
  servers.express = createServer(app)
  servers.node = createServer(toNodeHandler(handler))
  const h3 = new H3()
  h3.all('/flows', toH3Handler(handler))
  h3.all('/flows/**', toH3Handler(handler))
  servers.h3 = createServer(h3ToNode(h3))
  await Promise.all(Object.values(servers).map((s) => new Promise<void>((r) => s.listen(0, '127.0.0.1', r))))
})

afterAll(async () => {
  await Promise.all(Object.values(servers).map((s) => new Promise((r) => s.close(r))))
  await store.close()
})

/** The first line the server sends for a GET of `path`. */
function statusLine(server: Server, path: string): Promise<string> {
  const { port } = server.address() as AddressInfo
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`))
    let got = ''
    socket.on('data', (d) => {
      got += d.toString('latin1')
      const end = got.indexOf('\r\n')
      if (end >= 0) {
        socket.destroy()
        resolve(got.slice(0, end))
      }
    })
    socket.on('error', reject)
  })
}

describe.each(['express', 'node', 'h3'])('%s adapter', (name) => {
  it('sends the reason phrase of each status', async () => {
    const server = servers[name]!
    expect(await statusLine(server, '/flows/')).toBe('HTTP/1.1 200 OK')
    expect(await statusLine(server, '/flows/runs/nope')).toBe('HTTP/1.1 404 Not Found')
    expect(await statusLine(server, '/flows/runs/a:b')).toBe('HTTP/1.1 400 Bad Request')
    expect(await statusLine(server, '/flows/runs/r/stream?after=1-0')).toBe('HTTP/1.1 200 OK') // a reset on an unknown run
  })
})
