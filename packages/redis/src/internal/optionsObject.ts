import { LeanflowError } from '@leanflow/core'

/**
 * `opts` when it is an options object, `{}` when it is `undefined`; anything else (`null`, a
 * string, an array) is `INVALID_ARGUMENT` naming the call and the shape it takes — the memory
 * store's refusal, word for word (core's internal optionsObject).
 */
export function optionsObject<T extends object>(opts: T | undefined, what: string, shape: string): T {
  if (opts === undefined) return {} as T
  if (typeof opts !== 'object' || opts === null || Array.isArray(opts)) {
    const got = opts === null ? 'null' : Array.isArray(opts) ? 'an array' : typeof opts
    throw new LeanflowError('INVALID_ARGUMENT', `${what} must be an object ${shape}, got ${got}: pass an object, or leave it out.`)
  }
  return opts
}
