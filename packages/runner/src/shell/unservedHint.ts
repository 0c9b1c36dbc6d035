import { LeanflowError } from '@leanflow/core'
import { UNSERVED_HINT_MS } from './result.js'

/** What {@link unservedHint} returns: tell it each start; `stop()` with the runner. */
export interface UnservedHint {
  started(runId: string, flow: string): void
  /** Reports `err` unless a hint was said already (`runner.result`'s says the same). */
  say(err: Error): void
  stop(): void
}

/**
 * Says once, to `onError`, that a run was started on a memory queue no worker takes jobs from (no
 * runner of this process is started on it), when none is still 2 s later: the run would wait for
 * ever, and a script following its events would hang, or end with no word (Node's exit code 13).
 * A runner started within the 2 s (jobs queued first, then `start()`) hears nothing.
 *
 * @example
 * ```ts
 * const hint = unservedHint(() => isServed(queue), onError)
 * hint.started(runId, 'order') // after each startFlow
 * ```
 */
export function unservedHint(served: () => boolean, onError: (err: unknown) => void): UnservedHint {
  let timer: ReturnType<typeof setTimeout> | undefined
  let said = false
  const say = (err: Error) => {
    if (said) return
    said = true
    onError(err)
  }
  return {
    started(runId, flow) {
      if (said || timer !== undefined || served()) return
      timer = setTimeout(() => {
        timer = undefined
        if (served()) return
        say(
          new LeanflowError(
            'INVALID_ARGUMENT',
            `Run "${runId}" of flow "${flow}" waits: no worker takes this runner's jobs (it has the memory queue, and no runner of this process is started on it). Call runner.start(), or give producers and workers a queue they share (createBullMQQueue).`,
          ),
        )
      }, UNSERVED_HINT_MS)
    },
    say,
    stop() {
      clearTimeout(timer)
      timer = undefined
    },
  }
}
