import { LeanflowError, PayloadTooLargeError } from '@leanflow/core'
import type { Shell } from './shell.js'
import { eventLimit } from './storable.js'

/**
 * Publishes an external event (`runner.publishEvent`, `ctx.publish`) and resolves the awaits of
 * every run watching its kind. With `idempotencyKey`, a repeat stores nothing new (and matches
 * again, so a repeat after a failure finishes the matching); the key used for an event of another
 * kind is refused (`INVALID_ARGUMENT`), nothing stored.
 */
export async function publish(shell: Shell, kind: string, data: unknown, idempotencyKey?: string): Promise<{ id: string }> {
  const bytes = new TextEncoder().encode(JSON.stringify(data)).length
  const limit = eventLimit(shell)
  if (bytes > limit) throw new PayloadTooLargeError(bytes, limit)
  const rec = await shell.store.publishExternal(kind, data, idempotencyKey === undefined ? undefined : { idempotencyKey })
  // a key names one event: a repeat of another kind is no repeat (answered with the first id, it was lost)
  if (rec.kind !== kind)
    throw new LeanflowError(
      'INVALID_ARGUMENT',
      `publishEvent idempotencyKey "${idempotencyKey}" names an event of kind "${rec.kind}", not "${kind}": a key names one event; use another key for this one.`,
    )
  const runs = await shell.store.kindWatchers(kind)
  // a failure here rejects (the event is stored): a retry with the same idempotencyKey matches again
  await Promise.all(runs.map((r) => shell.matches.add(r, kind)))
  return { id: rec.id }
}
