// The state of one scope of the memory limit store (memoryLimits.ts): its slots, windows, lines,
// singletons and debounce windows, and the key names they are kept under.
import type { LimitNeed } from './limitStore.js'

export interface Entry {
  holder: string
  needs: LimitNeed[]
  leaseMs?: number
  /** Sort key: priority (higher first), then arrival. */
  score: number
}

/** One scope's limits: slots, windows, the queue by round-robin key, singletons, debounce windows. */
export interface Scope {
  /** `<id>|<key>` → holder → expiry (Infinity: unleased). */
  slots: Map<string, Map<string, number>>
  /** `<id>|<key>` → admission times (rate). */
  windows: Map<string, number[]>
  /** holder → the needs it holds. */
  held: Map<string, LimitNeed[]>
  /** holder → its queued entry. */
  waiting: Map<string, Entry>
  /** Round-robin key → its entries, in order. */
  lines: Map<string, Entry[]>
  /** Round-robin keys with waiters, in turn order. */
  ring: string[]
  singletons: Map<string, string>
  singletonOf: Map<string, string>
  debounces: Map<string, { holder: string; first: number; until: number; json: string }>
  /** `<id>|<key>` → its need (for usage). */
  seen: Map<string, LimitNeed>
  /** `<id>|<key>` → the limit its latest ask gave (a deploy that changes a limit reaches the holders in line); kept and dropped with `seen`. */
  limits: Map<string, number>
  seq: number
}

export const slotKey = (n: { id: string; key: string }) => `${n.id}|${n.key}`
/** The round-robin line of a holder: its first need with a key (else its first need). */
export const lineOf = (needs: readonly LimitNeed[]) => {
  const n = needs.find((x) => x.key !== '') ?? needs[0]
  return n ? slotKey(n) : ''
}

/** An empty scope. */
export function newScope(): Scope {
  return {
    slots: new Map(),
    windows: new Map(),
    held: new Map(),
    waiting: new Map(),
    lines: new Map(),
    ring: [],
    singletons: new Map(),
    singletonOf: new Map(),
    debounces: new Map(),
    seen: new Map(),
    limits: new Map(),
    seq: 0,
  }
}

/** How many usage entries one sweep looks at (the Redis store's HSCAN asks for as many). */
const SWEEP_COUNT = 16

/**
 * Forgets the next few of the scope's usage entries that `idle` says are idle (a rate key whose
 * window expired, no line), moving the others to the back: called once per call that admits
 * into a rate window, so a keyed rate limit (a key per user) leaves no entry per key for ever in
 * a process that never lists its usage. The Redis store sweeps the same way (HSCAN).
 *
 * @example
 * ```ts
 * sweepIdle(s, (k, n) => n.kind === 'rate' && windowOf(s, n, t).length === 0 && !s.lines.has(k))
 * ```
 */
export function sweepIdle(s: Scope, idle: (k: string, n: LimitNeed) => boolean): void {
  const next = [...take(s.seen.entries(), SWEEP_COUNT)]
  for (const [k, n] of next) {
    s.seen.delete(k)
    if (idle(k, n)) {
      s.limits.delete(k)
      s.windows.delete(k)
    } else s.seen.set(k, n)
  }
}

function* take<T>(it: Iterator<T>, count: number): Generator<T> {
  for (let i = 0; i < count; i++) {
    const r = it.next()
    if (r.done) return
    yield r.value
  }
}
