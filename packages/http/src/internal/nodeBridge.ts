// Node's http on one side, the Web Request and Response of the handler on the other: what
// @leanflow/http/node and ./express are made of. An SSE answer goes to the Node sink (nodeSseSink.ts).
import { type IncomingMessage, type ServerResponse, STATUS_CODES } from 'node:http'
import { writeSseToNode } from './nodeSseSink.js'
import { nodeRequestUrl } from './requestUrl.js'
import { isSseBody } from './webSseSink.js'

function requestBody(req: IncomingMessage): ReadableStream<Uint8Array> {
  let open = true
  return new ReadableStream<Uint8Array>(
    {
      start(c) {
        const stop = () => {
          open = false
          req.off('data', data)
        }
        const data = (chunk: Buffer) => {
          if (!open) return
          c.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))
          if ((c.desiredSize ?? 0) <= 0) req.pause()
        }
        req.on('data', data)
        req.once('end', () => {
          if (open) c.close()
          stop()
        })
        req.once('error', (err) => {
          if (open) c.error(err)
          stop()
        })
        req.pause()
      },
      pull() {
        if (open) req.resume()
      },
      cancel() {
        // stop reading; the response says `connection: close`, so the rest is never read
        open = false
        req.pause()
      },
    },
    { highWaterMark: 64 * 1024, size: (chunk) => chunk.byteLength },
  )
}

/**
 * Turns a Node `IncomingMessage` into a Web `Request`: a streamed body and a
 * signal that aborts when the client goes away. `url` overrides the path (Express mounts);
 * a Host header that makes no valid URL throws 400 INVALID_ARGUMENT;
 * `body` replaces a body that a framework already read (a request stream read to its end gives an empty body, never a hang).
 *
 * @example
 * ```ts
 * http.createServer(async (req, res) => sendWebResponse(res, await handler(toWebRequest(req, res)), req))
 * ```
 */
export function toWebRequest(
  req: IncomingMessage,
  res: ServerResponse,
  url = req.url ?? '/',
  body?: string | Uint8Array<ArrayBuffer>,
): Request {
  const ac = new AbortController()
  res.once('close', () => ac.abort())
  const headers = new Headers()
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined || k.startsWith(':')) continue
    if (Array.isArray(v)) for (const x of v) headers.append(k, x)
    else headers.set(k, v)
  }
  // Node keeps the first of several Content-Type headers; the Web's Headers (Hono, h3, a fetch
  // server) joins them all, which the JSON check refuses: every adapter reads it the same way
  // (only with one: `headersDistinct` copies every header, kept as long as an SSE stream's request)
  const types = req.headers['content-type'] === undefined ? undefined : req.headersDistinct?.['content-type']
  if (types !== undefined && types.length > 1) {
    headers.delete('content-type')
    for (const t of types) headers.append('content-type', t)
  }
  const secure = (req.socket as { encrypted?: boolean }).encrypted === true
  const method = req.method ?? 'GET'
  // a Web Request cannot carry TRACE or TRACK (the Fetch spec forbids them; Node's throws a
  // TypeError): made as a GET that tells its method, so the handler answers 405 with the path's
  // Allow, as on Hono and h3 (as @hono/node-server does)
  const forbidden = method === 'TRACE' || method === 'TRACK'
  const hasBody = method !== 'GET' && method !== 'HEAD' && !forbidden
  const request = new Request(nodeRequestUrl(url, secure ? 'https' : 'http', req.headers.host ?? 'localhost'), {
    method: forbidden ? 'GET' : method,
    headers,
    signal: ac.signal,
    body: hasBody ? (body ?? (req.readableEnded ? '' : requestBody(req))) : null,
    // @ts-expect-error Node's fetch needs it for a streamed body; not yet in the DOM types
    duplex: 'half',
  })
  if (forbidden) Object.defineProperty(request, 'method', { value: method })
  return request
}

/**
 * Writes a Web `Response` to a Node `ServerResponse`, streaming the body with
 * backpressure (waits for `drain`); SSE is flushed at once (no buffering, no Nagle).
 * Pass `req` so an unread request body closes the connection after the answer.
 *
 * @example
 * ```ts
 * await sendWebResponse(res, Response.json({ ok: true }), req)
 * ```
 */
export async function sendWebResponse(res: ServerResponse, response: Response, req?: IncomingMessage): Promise<void> {
  // the headers and status first, and kept: the lightweight Response that @hono/node-server puts
  // on `globalThis` rebuilds itself from its constructor's init on the first read of its body,
  // dropping every header middleware set on it since
  const headers = response.headers
  const status = response.status
  const body = req?.method === 'HEAD' ? null : response.body
  const sse = headers.get('content-type')?.startsWith('text/event-stream') === true
  // The SSE path: a leanflow SSE body nobody has read yet (also when middleware wrapped it in a
  // new Response) goes to the Node sink, which writes its stream straight to `res`.
  const direct = sse && isSseBody(body) && !body.locked ? body.source : undefined
  writeHead(res, { headers, status, statusText: response.statusText }, req, sse, direct !== undefined)
  if (body === null) {
    res.end()
    return
  }
  if (direct !== undefined && writeSseToNode(res, direct)) return
  await pipeBody(res, body)
}

/**
 * Writes the status and headers. `closeDelimited`: the body (a leanflow stream written
 * directly, which ends only with its run or its client) is delimited by closing the connection
 * rather than chunked, so each frame is one buffer on the socket (a chunk-size string would make
 * Node allocate a buffer for every write).
 */
function writeHead(
  res: ServerResponse,
  response: Pick<Response, 'headers' | 'status' | 'statusText'>,
  req: IncomingMessage | undefined,
  sse: boolean,
  closeDelimited: boolean,
): void {
  const headers: Record<string, string | string[]> = {}
  response.headers.forEach((v, k) => {
    if (k !== 'set-cookie') headers[k] = v
  })
  const cookies = response.headers.getSetCookie()
  if (cookies.length > 0) headers['set-cookie'] = cookies
  // a request body left unread (413, 401…) is not drained: close the connection after the answer
  if (req !== undefined && !req.complete) headers.connection = 'close'
  if (closeDelimited) res.useChunkedEncodingByDefault = false
  // HTTP/2 (node:http2's compatibility API) has no reason phrase and no connection headers: Node
  // warns of both (UnsupportedWarning), and its streams end on their own
  if ((req?.httpVersionMajor ?? 1) >= 2) {
    for (const name of ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']) delete headers[name]
    res.writeHead(response.status, headers)
  } else {
    // a Response built without a statusText would send "HTTP/1.1 200 " with no reason phrase
    res.writeHead(response.status, response.statusText || STATUS_CODES[response.status] || '', headers)
  }
  if (sse) {
    res.socket?.setNoDelay(true)
    res.socket?.setTimeout(0)
    res.flushHeaders()
  }
}

/** Copies a Web body to `res`, waiting for `drain` when the socket is full. */
async function pipeBody(res: ServerResponse, body: ReadableStream<Uint8Array>): Promise<void> {
  const reader = body.getReader()
  const onClose = () => void reader.cancel().catch(() => {})
  res.once('close', onClose)
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      if (!res.write(value)) {
        await new Promise<void>((resolve) => {
          const go = () => {
            res.off('drain', go)
            res.off('close', go)
            resolve()
          }
          res.on('drain', go)
          res.on('close', go)
        })
      }
      if (res.destroyed) return
    }
    res.end()
  } catch {
    // the body stream failed (e.g. a dropped slow SSE client): cut the connection
    res.destroy()
  } finally {
    res.off('close', onClose)
  }
}
