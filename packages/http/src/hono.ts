import type { Context } from 'hono'
import { isSseBody } from './internal/webSseSink.js'
import type { Handler } from './types.js'

/** A Hono route handler. */
export type HonoHandler = (c: Context) => Promise<Response>

/**
 * The request to hand on: `c.req.raw`, or, when a middleware already read its body
 * (`c.req.json()`, a validator), a copy whose body is the one Hono kept (`c.req.arrayBuffer()`
 * answers from Hono's body cache; a body kept as parsed JSON comes back re-encoded).
 */
async function requestOf(c: Context): Promise<Request> {
  const raw = c.req.raw
  // unread, or read past Hono (`c.req.raw.json()`: nothing kept, a server bug the handler reports)
  if (!raw.bodyUsed || Object.keys(c.req.bodyCache ?? {}).length === 0) return raw
  let body: ArrayBuffer | ReadableStream<Uint8Array>
  try {
    body = await c.req.arrayBuffer()
  } catch (err) {
    // the middleware's read failed (malformed JSON kept as such, a client gone mid-body): a body
    // that fails when read, which the handler answers in its order (route, authorize, 415 first)
    body = new ReadableStream({ start: (controller) => controller.error(err) })
  }
  // @ts-expect-error Node's fetch needs `duplex` for a streamed body; not yet in the DOM types
  return new Request(raw, { body, duplex: 'half' })
}

/**
 * Adapts a leanflow handler to Hono 4 (any runtime: Node via `@hono/node-server`,
 * Bun, Deno, workers). Route both the base path and everything under it. A body that a
 * middleware read first (`c.req.json()`) is taken from Hono's body cache.
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
  return async (c) => {
    const res = await handler(await requestOf(c))
    // on Node (`@hono/node-server`, whose `c.env.outgoing` is the ServerResponse), a dropped
    // stream ends its connection: the server sees a body's error only on a read it has pending,
    // and a client that stopped reading leaves it waiting for 'drain' (the socket stayed open)
    const outgoing = (c.env as { outgoing?: { destroy?: unknown } } | undefined)?.outgoing
    if (isSseBody(res.body) && typeof outgoing?.destroy === 'function') {
      const destroy = outgoing.destroy.bind(outgoing) as () => void
      res.body.onCut(() => destroy())
    }
    return res
  }
}
