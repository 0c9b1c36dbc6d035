import type { IncomingMessage, ServerResponse } from 'node:http'
import { sendWebResponse, toWebRequest } from './internal/nodeBridge.js'
import type { Handler } from './types.js'

export { sendWebResponse, toWebRequest }

/** A Node `http` request listener. */
export type NodeHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>

/**
 * Adapts a leanflow handler to Node's `http.createServer`.
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
  return async (req, res) => {
    try {
      const response = await handler(toWebRequest(req, res))
      await sendWebResponse(res, response, req)
    } catch {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ error: { code: 'INTERNAL', message: 'Internal server error.' } }))
    }
  }
}
