export { createHandler } from './createHandler.js'
export { signTrigger } from './signTrigger.js'
export type {
  Authorize,
  CorsOptions,
  Handler,
  HandlerAction,
  HandlerLimitInfo,
  HandlerOptions,
  HandlerRunner,
  RouteParams,
} from './types.js'
