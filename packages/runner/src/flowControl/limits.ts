import { LeanflowError, type LimitStore } from '@leanflow/core'
import type { FlowControl } from './control.js'

/** The store's {@link LimitStore}, when it implements it. */
export function limitStoreOf(store: object): LimitStore | undefined {
  const s = store as Partial<LimitStore>
  return typeof s.acquireLimit === 'function' && typeof s.releaseLimit === 'function' ? (store as LimitStore) : undefined
}

/** The store's {@link LimitStore}, or an error naming the flow that needs it. */
export function requireLimits(limits: LimitStore | undefined, flow: string): LimitStore {
  if (limits) return limits
  throw new LeanflowError(
    'INVALID_ARGUMENT',
    `Flow "${flow}" uses flow control (concurrency, rateLimit, debounce or singleton), and this store does not implement LimitStore: use createMemoryStreamStore() or createRedisStreamStore().`,
  )
}

/** True when a flow's runs go through admission and hold what they took until they end (flow-level concurrency, rate limit, singleton). */
export function holdsRunSlots(fc: FlowControl | undefined): boolean {
  return fc !== undefined && (fc.concurrency.length > 0 || fc.singleton !== undefined || fc.rate !== undefined)
}

/** True when a flow's starts go through flow control (any flow-level option; step-level limits alone do not). */
export function controlsStarts(fc: FlowControl | undefined): boolean {
  return holdsRunSlots(fc) || fc?.debounce !== undefined
}
