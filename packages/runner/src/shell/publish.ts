import { LeanflowError, PayloadTooLargeError } from '@leanflow/core'
import { jobIds } from '../machine/keys.js'
import { queueFallback } from './fallbackJob.js'
import { newId } from './newId.js'
import type { Shell } from './shell.js'
import { eventLimit } from './storable.js'

/**
 * How long after a publish its `match` job comes, in ms: the publish removes it once it matched
 * every watcher (a few ms), so it only comes when the publisher died (or failed) in between.
 */
export const MATCH_AFTER_MS = 5_000

/**
 * Publishes an external event (`runner.publishEvent`, `ctx.publish`) and resolves the awaits of
 * every run watching its kind. With `idempotencyKey`, a repeat stores nothing new (and matches
 * again, so a repeat after a failure finishes the matching); the key used for an event of another
 * kind is refused (`INVALID_ARGUMENT`), nothing stored.
 *
 * A `match` job ({@link MATCH_AFTER_MS} ahead) is queued first: should this process die (or a
 * store call fail) between storing the event and matching every watcher, or between a match and
 * its resume job, that job matches the kind's watchers again, so no await waits for good on an
 * event that was stored. `ctx.publish` goes without it (`fallback: false`): its step, delivered
 * again, publishes again under the same key.
 */
export async function publish(
  shell: Shell,
  kind: string,
  data: unknown,
  idempotencyKey?: string,
  fallback = true,
): Promise<{ id: string }> {
  const bytes = new TextEncoder().encode(JSON.stringify(data)).length
  const limit = eventLimit(shell)
  if (bytes > limit) throw new PayloadTooLargeError(bytes, limit)
  // queued before the event is stored: a queue that refuses it leaves nothing written
  // moved out while the matching runs on (many waiting runs, a slow store), so it never matches beside this publisher
  const later = fallback
    ? await queueFallback(
        shell,
        { id: jobIds.match(newId()), name: 'match', data: { runId: '', step: '', kind }, delayMs: MATCH_AFTER_MS },
        `publishEvent("${kind}")`,
        true,
      )
    : undefined
  try {
    const rec = await shell.store.publishExternal(kind, data, idempotencyKey === undefined ? undefined : { idempotencyKey })
    // a key names one event: a repeat of another kind is no repeat (answered with the first id, it was lost)
    if (rec.kind !== kind) {
      await later?.done()
      throw new LeanflowError(
        'INVALID_ARGUMENT',
        `publishEvent idempotencyKey "${idempotencyKey}" names an event of kind "${rec.kind}", not "${kind}": a key names one event; use another key for this one.`,
      )
    }
    // a failure here rejects (the event is stored): the match job, or a retry with the same idempotencyKey, matches again
    await matchWatchers(shell, kind)
    // awaited, so a caller that closes its queue next (the CLI) leaves no job behind; a remove that
    // fails leaves a job that matches again, harmlessly
    await later?.done()
    return { id: rec.id }
  } finally {
    // a failure leaves the job queued (it matches again), no longer moved out
    later?.stop()
  }
}

/**
 * Matches every run watching `kind` against its stored events (a publish, or its `match` job):
 * idempotent, so a run already resumed gets nothing new, and a run whose match landed without its
 * resume job gets that job again.
 */
export async function matchWatchers(shell: Shell, kind: string): Promise<void> {
  const runs = await shell.store.kindWatchers(kind)
  await Promise.all(runs.map((r) => shell.matches.add(r, kind)))
}
