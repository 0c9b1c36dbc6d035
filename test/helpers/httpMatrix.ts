import http from 'node:http'
import net, { type AddressInfo } from 'node:net'
import { createAdaptorServer } from '@hono/node-server'
import type { Handler } from '@leanflow/http'
import { toExpressHandler } from '@leanflow/http/express'
import { toH3Handler } from '@leanflow/http/h3'
import { toHonoHandler } from '@leanflow/http/hono'
import { toNodeHandler } from '@leanflow/http/node'
import { EventSource, type EventSourceInit, type FetchLike } from 'eventsource'
import express from 'express'
import { H3, toNodeHandler as h3ToNode } from 'h3'
import { Hono } from 'hono'
import { afterAll, beforeAll, describe } from 'vitest'
import { waitFor } from './waitFor.js'

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
  /** An `eventsource` client for a path, through this transport. */
  eventSource(path: string): EventSource
  /** An `EventSource` class that reaches this transport (for `watchRun(url, { EventSource })`). */
  EventSource: typeof EventSource
  /** Cuts every open connection from the server side (clients see a network drop). */
  cut(): void
  /** Whether the server still has a connection open from the client's local `port` (false in process). */
  holds(port: number): boolean
}

/** The `error` of a JSON error response: `{ error: { code, message } }`. */
export async function errorOf(res: Response): Promise<{ code: string; message: string }> {
  return ((await res.json()) as { error: { code: string; message: string } }).error
}

/** What {@link recordSse} has seen of an EventSource so far. */
export interface RecordedSse {
  /** The `lastEventId` of every message, in arrival order. */
  readonly ids: string[]
  /** Whether the `end` event came (the source is closed then). */
  readonly ended: boolean
}

/** Records the ids of `es`'s messages, and closes it at its `end` event. */
export function recordSse(es: EventSource): RecordedSse {
  const ids: string[] = []
  let ended = false
  es.addEventListener('message', (m) => ids.push(m.lastEventId))
  es.addEventListener('end', () => {
    ended = true
    es.close()
  })
  return {
    ids,
    get ended() {
      return ended
    },
  }
}

/** Wraps an in-process response so `cut()` can end its body like a dropped connection. */
function cuttable(res: Response, open: Set<() => void>): Response {
  if (res.body === null) return res
  const reader = res.body.getReader()
  let cut: () => void = () => {}
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      cut = () => {
        open.delete(cut)
        void reader.cancel().catch(() => {})
        try {
          c.error(new TypeError('connection cut'))
        } catch {}
      }
      open.add(cut)
    },
    async pull(c) {
      try {
        const { done, value } = await reader.read()
        if (done) {
          open.delete(cut)
          c.close()
        } else c.enqueue(value)
      } catch (err) {
        open.delete(cut)
        c.error(err)
      }
    },
    cancel() {
      open.delete(cut)
      return reader.cancel()
    },
  })
  return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers })
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
          const open = new Set<() => void>()
          const inProcess = async (url: string | URL, init?: RequestInit) => cuttable(await handler(new Request(url, init)), open)
          target = {
            transport,
            origin: 'http://in-process',
            fetch: (path, init) => inProcess(`http://in-process${path}`, init),
            eventSource: (path) => new EventSource(`http://in-process${path}`, { fetch: inProcess as FetchLike }),
            EventSource: class extends EventSource {
              constructor(url: string | URL, init?: EventSourceInit) {
                super(new URL(url, 'http://in-process'), { ...init, fetch: inProcess as FetchLike })
              }
            },
            cut: () => {
              for (const c of [...open]) c()
            },
            holds: () => false,
          }
        } else {
          const r = await startServer(transport, handler)
          running = r
          const sockets = new Set<net.Socket>()
          r.server.on('connection', (socket: net.Socket) => {
            sockets.add(socket)
            socket.once('close', () => sockets.delete(socket))
          })
          target = {
            transport,
            origin: r.origin,
            fetch: (path, init) => fetch(`${r.origin}${path}`, init),
            eventSource: (path) => new EventSource(`${r.origin}${path}`),
            EventSource,
            cut: () => r.server.closeAllConnections(),
            holds: (port) => [...sockets].some((socket) => socket.remotePort === port && !socket.destroyed),
          }
        }
      })
      afterAll(async () => {
        await running?.stop()
      })
      cases(() => target)
    })
  }
}

/** One parsed SSE block. */
export interface SseFrame {
  id?: string
  event?: string
  data?: string
  retry?: number
  comment?: string
}

/** Parses an SSE response body into frames (a test client that reads raw bytes). */
export async function* readSse(res: Response): AsyncGenerator<SseFrame> {
  if (res.body === null) return
  const decoder = new TextDecoder()
  let buf = ''
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buf += decoder.decode(chunk, { stream: true })
    for (let at = buf.indexOf('\n\n'); at !== -1; at = buf.indexOf('\n\n')) {
      const block = buf.slice(0, at)
      buf = buf.slice(at + 2)
      const f: SseFrame = {}
      for (const line of block.split('\n')) {
        const colon = line.indexOf(':')
        const field = colon === -1 ? line : line.slice(0, colon)
        const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '')
        if (field === '') f.comment = value
        else if (field === 'data') f.data = f.data === undefined ? value : `${f.data}\n${value}`
        else if (field === 'id') f.id = value
        else if (field === 'event') f.event = value
        else if (field === 'retry') f.retry = Number(value)
      }
      yield f
    }
  }
}

/** Collects SSE frames until `until` returns true for one (included) or the stream ends. */
export async function collectSse(res: Response, until: (f: SseFrame) => boolean = () => false): Promise<SseFrame[]> {
  const out: SseFrame[] = []
  for await (const f of readSse(res)) {
    out.push(f)
    if (until(f)) break
  }
  return out
}

/**
 * Reads an SSE response until `event: end` (or the stream closes), collecting the event ids;
 * `onId(got)` runs after each id, e.g. to append more events once the backfill is in.
 */
export async function sseIdsUntilEnd(res: Response, onId: (got: string[]) => unknown = () => {}): Promise<{ ids: string[]; end: boolean }> {
  const ids: string[] = []
  for await (const f of readSse(res)) {
    if (f.event === 'end') return { ids, end: true }
    if (f.id === undefined) continue
    ids.push(f.id)
    await onId(ids)
  }
  return { ids, end: false }
}

/**
 * A raw TCP client that asks for `path` as SSE, takes the response headers, then stops reading
 * (the slow client of F14). `bytes()` counts what it read; `resume()` reads again; with `keep`,
 * `ids()` are the SSE ids it read, and `ended()` says it read the `event: end` frame.
 */
export async function stalledSseClient(origin: string, path: string, opts: { keep?: boolean } = {}) {
  const { port, hostname } = new URL(origin)
  const socket = net.connect(Number(port), hostname)
  let bytes = 0
  let closed = false
  const kept: string[] = []
  let tail = ''
  let ended = false
  socket.setEncoding('latin1')
  socket.on('data', (c: string) => {
    bytes += c.length
    if (opts.keep) kept.push(c)
    ended ||= (tail + c).includes('\nevent: end\n')
    tail = c.slice(-16)
  })
  socket.on('close', () => {
    closed = true
  })
  socket.on('error', () => {})
  await new Promise<void>((r) => socket.once('connect', () => r()))
  socket.write(`GET ${path} HTTP/1.1\r\nHost: ${hostname}\r\nAccept: text/event-stream\r\n\r\n`)
  await waitFor(() => bytes > 0, 'the slow client to get its headers')
  socket.pause() // stops reading from now on
  return {
    /** Its local port (the server sees it as the remote one). */
    port: socket.localPort as number,
    bytes: () => bytes,
    closed: () => closed,
    resume: () => socket.resume(),
    /** It read the stream's `event: end` frame. */
    ended: () => ended,
    /** The SSE ids it read (with `keep`). */
    ids: () => [...kept.join('').matchAll(/^id: (.+)$/gm)].map((m) => m[1] as string),
    close: () => socket.destroy(),
  }
}

/**
 * Sends `text` as is on a raw TCP connection to `port` and resolves to all the server answered
 * until it closed: headers a client library would merge or refuse (two Content-Types, a bad Host)
 * reach the server apart. Send `Connection: close`.
 */
export function rawHttp(port: number, text: string): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1')
    let out = ''
    s.on('data', (d: Buffer) => {
      out += d.toString()
    })
    s.on('close', () => resolve(out))
    s.on('error', () => resolve(out))
    s.write(text)
  })
}
