import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { createAdaptorServer } from '@hono/node-server'
import type { Handler } from '@leanflow/http'
import { toExpressHandler } from '@leanflow/http/express'
import { toH3Handler } from '@leanflow/http/h3'
import { toHonoHandler } from '@leanflow/http/hono'
import { toNodeHandler } from '@leanflow/http/node'
import express from 'express'
import { H3, toNodeHandler as h3ToNode } from 'h3'
import { Hono } from 'hono'
import { afterAll, beforeAll, describe } from 'vitest'

/** How a matrix case reaches the handler. */
export type Transport = 'handler' | 'node' | 'express' | 'hono' | 'h3'

export const TRANSPORTS: readonly Transport[] = ['handler', 'node', 'express', 'hono', 'h3']

/** What each matrix case gets. */
export interface MatrixTarget {
  transport: Transport
  /** `http://127.0.0.1:<port>` for a real server; `http://in-process` for the handler. */
  origin: string
  /** fetch a path (e.g. `/flows/runs/x`) through this transport. */
  fetch(path: string, init?: RequestInit): Promise<Response>
}

/** A running server for a transport (stop closes every connection, SSE included). */
export interface RunningServer {
  origin: string
  port: number
  server: http.Server
  stop(): Promise<void>
}

/** Builds the Node request listener of a transport around a leanflow handler (`basePath` must be `/flows`). */
export function listenerFor(transport: Exclude<Transport, 'handler'>, handler: Handler): http.Server {
  switch (transport) {
    case 'node':
      return http.createServer(toNodeHandler(handler))
    case 'express': {
      const app = express()
      app.use('/flows', toExpressHandler(handler))
      return http.createServer(app)
    }
    case 'hono': {
      const app = new Hono()
      const h = toHonoHandler(handler)
      app.all('/flows', h)
      app.all('/flows/*', h)
      return createAdaptorServer({ fetch: app.fetch }) as http.Server
    }
    case 'h3': {
      const app = new H3()
      const h = toH3Handler(handler)
      app.all('/flows', h)
      app.all('/flows/**', h)
      return http.createServer(h3ToNode(app))
    }
  }
}

/** Starts a transport's server on `port` (0: a free one) on 127.0.0.1. */
export async function startServer(transport: Exclude<Transport, 'handler'>, handler: Handler, port = 0): Promise<RunningServer> {
  const server = listenerFor(transport, handler)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => resolve())
  })
  const actual = (server.address() as AddressInfo).port
  return {
    origin: `http://127.0.0.1:${actual}`,
    port: actual,
    server,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

/**
 * Runs the same cases through the handler in-process and through real servers
 * on port 0 (node:http, Express, Hono, h3). `getHandler` is called once per
 * transport, after the enclosing `beforeAll` hooks ran.
 */
export function describeMatrix(
  title: string,
  getHandler: () => Handler,
  cases: (t: () => MatrixTarget) => void,
  transports: readonly Transport[] = TRANSPORTS,
): void {
  for (const transport of transports) {
    describe(`${title} [${transport}]`, () => {
      let target: MatrixTarget
      let running: RunningServer | undefined
      beforeAll(async () => {
        const handler = getHandler()
        if (transport === 'handler') {
          target = { transport, origin: 'http://in-process', fetch: (path, init) => handler(new Request(`http://in-process${path}`, init)) }
        } else {
          const r = await startServer(transport, handler)
          running = r
          target = { transport, origin: r.origin, fetch: (path, init) => fetch(`${r.origin}${path}`, init) }
        }
      })
      afterAll(async () => {
        await running?.stop()
      })
      cases(() => target)
    })
  }
}
