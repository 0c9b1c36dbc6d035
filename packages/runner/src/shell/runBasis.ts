import type { Shell } from './shell.js'

/** What a new run is written with: the store's clock, and the external-event position its awaits match after. */
export type RunBasis = [now: number, pos: number]

/** Asks the store for a new run's {@link RunBasis} (both commands in one round trip). */
export function readBasis(shell: Shell): Promise<RunBasis> {
  return Promise.all([shell.clock.now(), shell.store.externalPosition()])
}

/**
 * A start's basis, asked early: `ask()` sends the reads now (once), so that they go out together
 * with flow control's call instead of one round trip after it; `get()` is the answer asked for, if
 * any. Reads only: a start its limits refuse wrote nothing.
 */
export function earlyBasis(shell: Shell): { ask: () => void; get: () => Promise<RunBasis> | undefined } {
  let basis: Promise<RunBasis> | undefined
  return {
    ask() {
      basis ??= readBasis(shell)
      basis.catch(() => {}) // awaited by the write of the run; a refused start never reads it
    },
    get: () => basis,
  }
}
