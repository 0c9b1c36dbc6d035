import type { Request as ExpressRequest, Response as ExpressResponse, NextFunction } from 'express'
import { sendWebResponse, toWebRequest } from './internal/nodeBridge.js'
import type { Handler } from './types.js'

/** An Express 5 middleware. */
export type ExpressHandler = (req: ExpressRequest, res: ExpressResponse, next: NextFunction) => Promise<void>

/**
 * Adapts a leanflow handler to Express 5. Mount it on the handler's `basePath`
 * before any body parser (trigger signatures need the raw body); the full
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
    try {
      const request = toWebRequest(req, res, req.originalUrl)
      await sendWebResponse(res, await handler(request), req)
    } catch (err) {
      next(err)
    }
  }
}
