// Every call on a closed store is STORE_UNAVAILABLE, as on the built-in stores: after close()
// the pool is ended, and pg's own "Cannot use a pool after calling end on the pool" is no
// LeanflowError (the runner and the HTTP layer could not tell it from a bug).
import { LeanflowError } from '@leanflow/core'

/** A call on a Postgres store after its `close()`: its pool is ended for good. */
export function closedError(): LeanflowError {
  return new LeanflowError(
    'STORE_UNAVAILABLE',
    'The Postgres store is closed (close() was called, which ended its pool): create a new store with createPostgresStreamStore(), and close it only once you are done with it.',
  )
}
