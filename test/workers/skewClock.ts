/**
 * Imported first by a worker script: with CLOCK_SKEW_MS set, this process's clock (`Date.now()`,
 * `new Date()`) runs that many ms off the real one, as a machine whose clock is wrong (FAULTS F19).
 * BullMQ, ioredis and leanflow all read the patched clock.
 */
const skew = Number(process.env.CLOCK_SKEW_MS ?? 0)
if (skew !== 0) {
  const RealDate = Date
  const now = () => RealDate.now() + skew
  class SkewedDate extends RealDate {
    constructor(...args: unknown[]) {
      if (args.length === 0) super(now())
      else super(...(args as [string]))
    }
    static override now = now
  }
  globalThis.Date = SkewedDate as DateConstructor
}

export {}
