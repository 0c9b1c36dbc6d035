// The options of the store calls whose keys every store checks alike: one table, so a custom store,
// the memory store and the Redis store refuse the same keys with the same words.
import { invalidArgument, optionsObject } from './invalidArgument.js'
import { isStringRecord } from './storeChecks.js'

const CALLS = {
  read: { shape: '{ after?, before?, limit?, direction? }', keys: ['after', 'before', 'limit', 'direction'] },
  follow: { shape: '{ after?, signal? }', keys: ['after', 'signal'] },
  listRuns: { shape: '{ limit?, before?, status? }', keys: ['limit', 'before', 'status'] },
  createRun: { shape: '{ idempotencyKey, fences? }', keys: ['idempotencyKey', 'fences'] },
} as const

/**
 * The options object of store call `call` (`{}` when left out), or `INVALID_ARGUMENT` for options
 * that are no object or hold a key the call does not take (a misspelt `form` for `from`…), worded as
 * the built-in stores word it ({@link optionsObject} with the call's keys).
 *
 * @example
 * ```ts
 * const opts = storeOptions('read', options) // { after?, before?, limit?, direction? }
 * storeOptions('listRuns', { statuss: 'failed' }) // throws: listRuns options has an unknown option "statuss": …
 * ```
 */
export function storeOptions<T extends object>(call: keyof typeof CALLS, opts: T | undefined): T {
  const { shape, keys } = CALLS[call]
  const o = optionsObject(opts, `${call} options`, shape, keys)
  // the fences a run is created with are those casRunState checks later: refused alike (a 1 would match a token '1')
  const fences = (o as { fences?: unknown }).fences
  if (call === 'createRun' && fences !== undefined && !isStringRecord(fences))
    throw invalidArgument('createRun fences', fences, 'an object of fence name → token strings')
  return o
}
