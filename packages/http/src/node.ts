import type { IncomingMessage, ServerResponse } from 'node:http'
import { sendWebResponse, toWebRequest } from './internal/nodeBridge.js'
import { errorResponse } from './internal/respond.js'
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
