import type { Shell } from '../shell/shell.js'
import { admitJob } from './admission.js'
import { holdsRunSlots } from './limits.js'

/** Queued runs looked at per page. */
const PAGE = 100

/**
 * At a worker's start, the queued runs of each flow it holds without run-level limits (a deploy
 * removed the flow's concurrency, rate limit or singleton, or its debounce; one that keeps its
 * debounce leaves the runs waiting for their window alone) ask again now: they
 * leave the lines they waited in and run (`admitJob`). Their own `admit` jobs would do the same,
 * but a rate limit's or a debounce window's may be due hours later. All of them, page by page
 * (newest first); in the background; stops with the worker.
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
    if (holdsRunSlots(fc)) continue
    // a run stays listed as queued until its first step starts: the ones asked already are skipped
    const asked = new Set<string>()
    let before: number | undefined
    while (!shell.stopping) {
      const page = await shell.store.listRuns(
        flow,
        before === undefined ? { status: 'queued', limit: PAGE } : { status: 'queued', limit: PAGE, before },
      )
      const fresh = page.filter((r) => !asked.has(r.runId))
      for (const run of fresh) {
        if (shell.stopping) return
        asked.add(run.runId)
        // a debounced run whose window is open waits for it (its own admit job comes at its end)
        if (fc?.debounce !== undefined && (await shell.states.read(run.runId))?.queued?.reason === 'debounce') continue
        await admitJob(shell, { runId: run.runId, step: '', flow }).catch(shell.onError)
      }
      const last = page.at(-1)
      if (page.length < PAGE || last === undefined) break
      // the next page from the last run's millisecond (`before` is exclusive): the runs of that
      // millisecond this page did not hold come then, and a page all asked already moves past it
      const ms = Date.parse(last.startedAt)
      before = fresh.length === 0 ? ms : ms + 1
    }
  }
}
