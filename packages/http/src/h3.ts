import type { H3Event } from 'h3'
import type { Handler } from './types.js'

/** An h3 v2 event handler (pass it to `app.all`). */
export type H3Handler = (event: H3Event) => Promise<Response>

/**
 * Adapts a leanflow handler to h3 v2 (whose `event.req` is a Web `Request`).
 *
 * @example
 * ```ts
 * import { H3 } from 'h3'
 * import { toH3Handler } from '@leanflow/http/h3'
 *
 * const app = new H3()
 * const leanflow = toH3Handler(createHandler({ store, runner }))
 * app.all('/flows', leanflow)
 * app.all('/flows/**', leanflow)
 * ```
 */
export function toH3Handler(handler: Handler): H3Handler {
  return (event) => handler(event.req)
}
