import type { Shell } from '../shell/shell.js'
import { admitJob } from './admission.js'
import { holdsRunSlots } from './limits.js'

/** Queued runs looked at per page, and at most in all per flow at a worker's start. */
const PAGE = 100
const MAX_PER_FLOW = 10_000

/**
 * At a worker's start, the queued runs of each flow it holds without run-level limits (a deploy
 * removed the flow's concurrency, rate limit or singleton; or its debounce) ask again now: they
 * leave the lines they waited in and run (`admitJob`). Their own `admit` jobs would do the same,
 * but a rate limit's or a debounce window's may be due hours later. In the background; stops with
 * the worker.
 *
 * @example
 * ```ts
 * void admitLeftQueued(shell).catch(shell.onError)
 * ```
 */
export async function admitLeftQueued(shell: Shell): Promise<void> {
  if (!shell.limits) return
  for (const flow of shell.versions.keys()) {
    const fc = shell.controls.get(flow)
    if (holdsRunSlots(fc) || fc?.debounce !== undefined) continue
    let before: number | undefined
    for (let seen = 0; seen < MAX_PER_FLOW && !shell.stopping; ) {
      const page = await shell.store.listRuns(
        flow,
        before === undefined ? { status: 'queued', limit: PAGE } : { status: 'queued', limit: PAGE, before },
      )
      for (const run of page) {
        if (shell.stopping) return
        await admitJob(shell, { runId: run.runId, step: '', flow }).catch(shell.onError)
      }
      seen += page.length
      const last = page.at(-1)
      if (page.length < PAGE || last === undefined) break
      before = Date.parse(last.startedAt)
    }
  }
}
