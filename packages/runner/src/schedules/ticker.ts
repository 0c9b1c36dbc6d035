import { longTimeout } from '../shell/longTimer.js'

/** The schedules' look loop: a timer, or a look in progress, never both. */
export interface Ticker {
  /** Looks now, then as each look says. */
  start(): void
  /** Looks again now (or right after the look in progress); nothing when stopped. */
  wake(): void
  /** Stops looking; resolves once a look in progress ended. */
  stop(): Promise<void>
}

/**
 * A loop of `look`, which fires what is due and resolves to how long to sleep (ms; `Infinity`:
 * until woken, no timer at all). A wake-up during a look runs one more right after it.
 */
export function createTicker(look: () => Promise<number>): Ticker {
  let disarm: (() => void) | undefined
  let ticking = false
  let looking: Promise<void> | undefined
  let again = false
  const arm = (ms: number) => {
    disarm?.()
    disarm = Number.isFinite(ms) ? longTimeout(run, ms) : undefined
  }
  function run() {
    if (!ticking) return
    if (looking) {
      again = true
      return
    }
    disarm?.()
    disarm = undefined
    looking = look().then((delay) => {
      looking = undefined
      if (!ticking) return
      const wait = again ? 0 : delay
      again = false
      arm(wait)
    })
  }
  return {
    start() {
      if (ticking) return
      ticking = true
      run()
    },
    wake() {
      if (!ticking) return
      if (looking) again = true
      else arm(0)
    },
    async stop() {
      ticking = false
      disarm?.()
      disarm = undefined
      await looking
    },
  }
}
