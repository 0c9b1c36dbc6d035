/** What {@link serverClock} reads: the Redis server's `TIME` (seconds and microseconds, as strings). */
export type ReadServerTime = () => Promise<[string | number, string | number]>

/**
 * The Redis server's clock, estimated from this process's: `TIME` is read once (awaited by the
 * first call) and again in the background when the last reading is older than `refreshMs`. The
 * offset is taken at the round trip's midpoint, so it is off by at most half a round trip.
 *
 * BullMQ dates a delayed job by the adding process's `Date.now()` and hands it out by the workers'
 * clocks; dated by the server's clock instead, a timer added by a worker whose clock is wrong is
 * still due on time for the others (FAULTS F19).
 *
 * @example
 * ```ts
 * const now = serverClock(async () => (await queue.client).time())
 * await queue.add('time', data, { delay: 5000, timestamp: await now() })
 * ```
 */
export function serverClock(read: ReadServerTime, refreshMs = 30_000): () => Promise<number> {
  let offset: number | undefined
  let readAt = 0
  let reading: Promise<void> | undefined
  const refresh = () => {
    reading ??= (async () => {
      const before = Date.now()
      const [s, us] = await read()
      const after = Date.now()
      offset = Number(s) * 1000 + Math.floor(Number(us) / 1000) - (before + after) / 2
      readAt = after
    })().finally(() => {
      reading = undefined
    })
    return reading
  }
  return async () => {
    if (offset === undefined) await refresh()
    else if (Date.now() - readAt > refreshMs) refresh().catch(() => {}) // the last estimate meanwhile
    return Math.round(Date.now() + (offset ?? 0))
  }
}
