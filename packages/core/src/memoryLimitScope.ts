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
