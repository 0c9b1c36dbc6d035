export { createHandler } from './createHandler.js'
export { signTrigger } from './signTrigger.js'
export type { Authorize, Handler, HandlerAction, HandlerOptions, HandlerRunner, RouteParams } from './types.js'
