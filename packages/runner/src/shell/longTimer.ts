/** The longest delay one `setTimeout` holds (2^31 - 1 ms, 24.8 days); a longer one fires at once. */
const MAX_TIMER_MS = 2 ** 31 - 1

/**
 * Calls `fn` after `ms` milliseconds, chaining timers for delays longer than one `setTimeout`
 * holds (a 40-day timeout must not fire after 1 ms). Returns the function that cancels it.
 */
export function longTimeout(fn: () => void, ms: number): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined
  let left = Math.max(0, ms)
  const arm = () => {
    const step = Math.min(left, MAX_TIMER_MS)
    left -= step
    timer = setTimeout(() => (left > 0 ? arm() : fn()), step)
  }
  arm()
  return () => clearTimeout(timer)
}
