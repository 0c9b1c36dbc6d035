import type { Context } from 'hono'
import type { Handler } from './types.js'

/** A Hono route handler. */
export type HonoHandler = (c: Context) => Promise<Response>

/**
 * Adapts a leanflow handler to Hono 4 (any runtime: Node via `@hono/node-server`,
 * Bun, Deno, workers). Route both the base path and everything under it.
 *
 * @example
 * ```ts
 * import { Hono } from 'hono'
 * import { toHonoHandler } from '@leanflow/http/hono'
 *
 * const app = new Hono()
 * const leanflow = toHonoHandler(createHandler({ store, runner }))
 * app.all('/flows', leanflow)
 * app.all('/flows/*', leanflow)
 * ```
 */
export function toHonoHandler(handler: Handler): HonoHandler {
  return (c) => handler(c.req.raw)
}
