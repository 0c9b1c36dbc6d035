import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2'
import { sendWebResponse, toWebRequest } from './internal/nodeBridge.js'
import { errorResponse } from './internal/respond.js'
import type { Handler } from './types.js'

export { sendWebResponse, toWebRequest }

/**
 * A Node request listener: of `node:http` (`http.createServer`), or of `node:http2`'s
 * compatibility API (`http2.createServer`, `http2.createSecureServer`).
 */
export type NodeHandler = (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse) => Promise<void>

/**
 * Adapts a leanflow handler to Node's `http.createServer` (and `http2.createSecureServer`).
 *
 * @example
 * ```ts
 * import http from 'node:http'
 * import { createHandler } from '@leanflow/http'
 * import { toNodeHandler } from '@leanflow/http/node'
 *
 * http.createServer(toNodeHandler(createHandler({ store }))).listen(3000)
 * ```
 */
export function toNodeHandler(handler: Handler): NodeHandler {
  return async (request, response) => {
    // node:http2's compatibility objects offer what the bridge uses of node:http's
    const req = request as IncomingMessage
    const res = response as ServerResponse
    try {
      await sendWebResponse(res, await handler(toWebRequest(req, res)), req)
    } catch (err) {
      // The handler answers its own errors: this is a handler that threw, or a request Node could
      // not turn into a Web Request. Answered like every other error (internal/respond.ts).
      if (res.headersSent) {
        res.destroy() // the answer began: it cannot become an error answer any more
        return
      }
      await sendWebResponse(res, errorResponse(err, report), req).catch(() => res.destroy())
    }
  }
}

/** Where an error no handler answered goes (as `createHandler`'s default `onError`). */
function report(err: unknown): void {
  console.error('[leanflow/http]', err)
}
