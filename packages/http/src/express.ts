// @leanflow/http/express: toExpressHandler, the Node bridge (internal/nodeBridge.ts) mounted as
// an Express 5 middleware, with the body a parser mounted earlier may already have read.
import type { Request as ExpressRequest, Response as ExpressResponse, NextFunction } from 'express'
import { sendWebResponse, toWebRequest } from './internal/nodeBridge.js'
import { leanflowErrorResponse } from './internal/respond.js'
import type { Handler } from './types.js'

/**
 * The body a parser mounted before leanflow (`express.json()`, `express.raw()`,
 * `express.text()`) already read, re-encoded (an empty one stays empty); `undefined` while the stream is unread.
 * Re-encoded JSON is not the signed raw body: signed triggers need leanflow mounted first.
 */
function parsedBody(req: ExpressRequest): string | Uint8Array<ArrayBuffer> | undefined {
  if (!req.readableEnded) return undefined
  const body: unknown = req.body
  // an empty body stays empty (no input), though `express.json()` makes it `{}`
  if (body === undefined || req.headers['content-length'] === '0') return ''
  if (typeof body === 'string') return body
  if (body instanceof Uint8Array) return new Uint8Array(body)
  return JSON.stringify(body)
}

/** An Express 5 middleware. */
export type ExpressHandler = (req: ExpressRequest, res: ExpressResponse, next: NextFunction) => Promise<void>

/**
 * Adapts a leanflow handler to Express 5. Mount it on the handler's `basePath`,
 * best before any body parser (trigger signatures need the raw body; a body a
 * parser already read is re-encoded, never waited for); the full
 * `originalUrl` is what the handler routes on.
 *
 * @example
 * ```ts
 * import express from 'express'
 * import { toExpressHandler } from '@leanflow/http/express'
 *
 * const app = express()
 * app.use('/flows', toExpressHandler(createHandler({ store, runner })))
 * app.use(express.json()) // after leanflow
 * ```
 */
export function toExpressHandler(handler: Handler): ExpressHandler {
  return async (req, res, next) => {
    let request: Request
    try {
      request = toWebRequest(req, res, req.originalUrl, parsedBody(req))
    } catch (err) {
      // a request that makes no Web Request (a malformed Host header): the JSON 400 of the other adapters
      const answer = leanflowErrorResponse(err)
      if (answer === undefined) next(err)
      else await sendWebResponse(res, answer, req).catch(next)
      return
    }
    try {
      await sendWebResponse(res, await handler(request), req)
    } catch (err) {
      next(err)
    }
  }
}
