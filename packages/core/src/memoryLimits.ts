import { positiveInteger } from './invalidArgument.js'
import { checkDebounce, checkLimitHolder, checkLimitRequest, checkLimitScope } from './limitChecks.js'
import type { DebounceAnswer, LimitAnswer, LimitBlock, LimitNeed, LimitRequest, LimitStore, LimitTurn, LimitUsage } from './limitStore.js'
import { type Entry, lineOf, newScope, type Scope, slotKey, sweepIdle } from './memoryLimitScope.js'

/** Most queued entries one call looks at while admitting (the Redis script has the same bound). */
const MAX_PUMP = 1000
/** A debounce window not settled this long after it came due is dropped (the Redis store the same). */
const STALE_WINDOW_MS = 60_000

/**
 * The {@link LimitStore} held in memory, on the store's clock: every call runs to its end in one
 * turn of the event loop, so each decision is atomic as the Redis script's is. `scopes` holds
 * each scope's state (a test passes its own map to look into it).
 */
export function createMemoryLimits(now: () => number, scopes = new Map<string, Scope>()): LimitStore {
  const scopeOf = (name: string): Scope => {
    let s = scopes.get(name)
    if (!s) {
      s = newScope()
      scopes.set(name, s)
    }
    return s
  }

  /** The live holders of a concurrency slot (expired leases dropped). */
  const holdersOf = (s: Scope, k: string, t: number): Map<string, number> => {
    let m = s.slots.get(k)
    if (!m) {
      m = new Map()
      s.slots.set(k, m)
    }
    // a holder whose lease ran out (its worker died) goes, its held entry and other slots too
    for (const [h, exp] of m) {
      if (exp > t) continue
      m.delete(h)
      drop(s, h)
    }
    return m
  }
  /** The admissions of a rate window still in it. */
  const windowOf = (s: Scope, n: LimitNeed, t: number): number[] => {
    const k = slotKey(n)
    const w = (s.windows.get(k) ?? []).filter((at) => at > t - (n.periodMs ?? 0))
    // an empty window is dropped (the Redis window expires a period after its last admission)
    if (w.length > 0) s.windows.set(k, w)
    else s.windows.delete(k)
    return w
  }

  /**
   * Forgets the key of `n` once no one holds it, counts in its window or waits in its line (usage
   * would list none of it): keys used once do not pile up. A rate key's entry goes at the next
   * usage call, once its line empties, or at a later rate admission's sweep (`sweepIdle`).
   */
  const forget = (s: Scope, n: LimitNeed): void => {
    const k = slotKey(n)
    if (s.slots.get(k)?.size === 0) s.slots.delete(k)
    if (!s.slots.has(k) && !s.windows.has(k) && !s.lines.has(k)) {
      s.seen.delete(k)
      s.limits.delete(k)
    }
  }

  /** The limit of need `n`'s key: its latest ask's, else the need's own. */
  const limitOf = (s: Scope, n: LimitNeed): number => s.limits.get(slotKey(n)) ?? n.limit

  /** The first need that keeps `holder` out now, or undefined when all admit. */
  const blockOf = (s: Scope, needs: readonly LimitNeed[], t: number): LimitBlock | undefined => {
    for (const n of needs) {
      if (n.kind === 'rate') {
        const w = windowOf(s, n, t)
        if (w.length >= limitOf(s, n)) return { id: n.id, key: n.key, retryAt: Math.min(...w) + (n.periodMs ?? 0) }
      } else {
        const m = holdersOf(s, slotKey(n), t)
        if (m.size >= limitOf(s, n)) {
          const soonest = Math.min(...m.values())
          return soonest === Number.POSITIVE_INFINITY ? { id: n.id, key: n.key } : { id: n.id, key: n.key, retryAt: soonest }
        }
      }
    }
    return undefined
  }

  const take = (s: Scope, holder: string, needs: LimitNeed[], leaseMs: number | undefined, t: number): void => {
    const exp = leaseMs === undefined ? Number.POSITIVE_INFINITY : t + leaseMs
    for (const n of needs) {
      s.seen.set(slotKey(n), n)
      if (n.kind === 'rate') {
        const w = windowOf(s, n, t)
        w.push(t)
        s.windows.set(slotKey(n), w)
      } else holdersOf(s, slotKey(n), t).set(holder, exp)
    }
    s.held.set(holder, needs)
    if (needs.some((n) => n.kind === 'rate')) sweepIdle(s, (k, n) => n.kind === 'rate' && windowOf(s, n, t).length === 0 && !s.lines.has(k))
  }

  /** Moves the expiry of `holder`'s leased concurrency slots to `leaseMs` from `t` (rate admissions stay as they were). */
  const renew = (s: Scope, holder: string, leaseMs: number, t: number): void => {
    for (const n of s.held.get(holder) ?? []) if (n.kind === 'concurrency') holdersOf(s, slotKey(n), t).set(holder, t + leaseMs)
  }

  /** True while `holder` holds every concurrency slot it took (none expired). */
  const holds = (s: Scope, holder: string, t: number): boolean => {
    const needs = s.held.get(holder)
    if (!needs) return false
    const live = needs.every((n) => n.kind === 'rate' || holdersOf(s, slotKey(n), t).has(holder))
    if (!live) drop(s, holder)
    return live
  }

  /** Frees `holder`'s concurrency slots; returns the needs freed. */
  const drop = (s: Scope, holder: string): LimitNeed[] => {
    const freed = (s.held.get(holder) ?? []).filter((n) => n.kind === 'concurrency')
    for (const n of freed) {
      s.slots.get(slotKey(n))?.delete(holder)
      forget(s, n)
    }
    s.held.delete(holder)
    return freed
  }

  const unqueue = (s: Scope, holder: string): void => {
    const e = s.waiting.get(holder)
    if (!e) return
    s.waiting.delete(holder)
    const line = lineOf(e.needs)
    const q = (s.lines.get(line) ?? []).filter((x) => x.holder !== holder)
    if (q.length > 0) s.lines.set(line, q)
    else {
      s.lines.delete(line)
      s.ring = s.ring.filter((k) => k !== line)
    }
  }

  const enqueue = (s: Scope, holder: string, req: LimitRequest): void => {
    const needs = [...req.needs]
    for (const n of needs) s.seen.set(slotKey(n), n)
    const e: Entry = { holder, needs, score: (100 - (req.priority ?? 0)) * 1e12 + ++s.seq }
    if (req.leaseMs !== undefined) e.leaseMs = req.leaseMs
    s.waiting.set(holder, e)
    const line = lineOf(needs)
    const q = s.lines.get(line) ?? []
    let i = q.length
    while (i > 0 && (q[i - 1] as Entry).score > e.score) i--
    q.splice(i, 0, e)
    if (!s.lines.has(line)) s.ring.push(line)
    s.lines.set(line, q)
  }

  /**
   * `blocked` of a queued holder, when a rate limit keeps it out with how many wait ahead of it in
   * its line and its turn (`retryAt`): the admission `limit` places before its own leaves the
   * window (counted on from the window's admissions, a period later for each `limit` places further).
   */
  const aheadOf = (s: Scope, holder: string, blocked: LimitBlock, t: number): LimitBlock => {
    const e = s.waiting.get(holder)
    const n = e?.needs.find((x) => x.kind === 'rate' && x.id === blocked.id)
    if (!e || !n) return blocked
    const ahead = (s.lines.get(lineOf(e.needs)) ?? []).indexOf(e)
    if (ahead < 0) return blocked
    if (blocked.retryAt === undefined) return { ...blocked, ahead }
    const period = n.periodMs ?? 0
    const w = [...windowOf(s, n, t)].sort((a, b) => a - b)
    const limit = limitOf(s, n)
    const k = Math.floor(ahead / limit) + 1
    const i = w.length + ahead - k * limit
    return { ...blocked, retryAt: i < 0 ? t + (k - 1) * period : (w[i] as number) + k * period, ahead }
  }

  /**
   * The heads of the lines `moved` (their head was admitted or left) that a rate limit keeps out,
   * with their turns: they ask again then (the turn each was given assumed the line as it was).
   */
  const turnsOf = (s: Scope, t: number, moved: ReadonlySet<string>): LimitTurn[] => {
    const out: LimitTurn[] = []
    for (const line of moved) {
      const head = s.lines.get(line)?.[0]
      const b = head && blockOf(s, head.needs, t)
      if (!head || !b || !head.needs.some((n) => n.kind === 'rate' && n.id === b.id)) continue
      const turn = aheadOf(s, head.holder, b, t).retryAt
      if (turn !== undefined) out.push({ holder: head.holder, retryAt: turn })
    }
    return out
  }

  /**
   * Admits what fits, taking turns across round-robin keys; returns the holders admitted. With
   * `only`, looks at those lines alone (the ones what just changed can admit from). Notes in
   * `moved` each line whose head it admitted while others wait in it.
   */
  const pump = (s: Scope, t: number, only?: ReadonlySet<string>, moved?: Set<string>): string[] => {
    const admitted: string[] = []
    let looked = 0
    let progress = true
    while (progress && s.ring.length > 0 && looked < MAX_PUMP) {
      progress = false
      const served: string[] = []
      const kept: string[] = []
      for (const line of s.ring) {
        if (only && !only.has(line)) {
          kept.push(line)
          continue
        }
        const q = s.lines.get(line)
        const head = q?.[0]
        looked++
        if (!q || !head) continue
        if (looked > MAX_PUMP || blockOf(s, head.needs, t)) {
          kept.push(line)
          continue
        }
        q.shift()
        s.waiting.delete(head.holder)
        take(s, head.holder, head.needs, head.leaseMs, t)
        admitted.push(head.holder)
        progress = true
        if (q.length > 0) {
          served.push(line)
          moved?.add(line)
        } else s.lines.delete(line)
      }
      s.ring = [...kept, ...served]
    }
    return admitted
  }

  return {
    async acquireLimit(scope: string, req: LimitRequest): Promise<LimitAnswer> {
      // every check before anything changes: a refused request writes nothing
      checkLimitRequest(scope, req)
      const s = scopeOf(scope)
      const t = now()
      const { holder } = req
      // this ask's limits become its keys' (of keys in use now; a key it takes or queues in, below)
      const asked = () => {
        for (const n of req.needs) s.limits.set(slotKey(n), n.limit)
      }
      for (const n of req.needs) if (s.seen.has(slotKey(n))) s.limits.set(slotKey(n), n.limit)
      let superseded: string | undefined
      if (req.singleton) {
        const cur = s.singletons.get(req.singleton.key)
        if (cur !== undefined && cur !== holder) {
          if (req.singleton.mode === 'skip') return { state: 'taken', holder: cur }
          superseded = cur
        }
      }
      const moved = new Set<string>()
      const settle = (a: LimitAnswer & { state: 'admitted' | 'queued' }): LimitAnswer => {
        const next = turnsOf(s, t, moved)
        if (next.length > 0) a.next = next
        if (req.singleton) {
          if (superseded !== undefined) s.singletonOf.delete(superseded)
          s.singletons.set(req.singleton.key, holder)
          s.singletonOf.set(holder, req.singleton.key)
        }
        if (superseded !== undefined) a.superseded = superseded
        return a
      }
      if (holds(s, holder, t)) {
        // asking again changes nothing for the others
        if (req.leaseMs !== undefined) renew(s, holder, req.leaseMs, t)
        return settle({ state: 'admitted', admitted: [] })
      }
      const queued = s.waiting.get(holder)
      if (queued) {
        // its own line only (those ahead of it first): every holder waiting in another line asks
        // again for its own (the runner's admit jobs), so a re-ask costs one line, not all of them
        const admitted = pump(s, t, new Set([lineOf(queued.needs)]), moved)
        if (admitted.includes(holder)) return settle({ state: 'admitted', admitted })
        const e = s.waiting.get(holder) as Entry
        const blocked = blockOf(s, e.needs, t) ?? { id: e.needs[0]?.id ?? '', key: e.needs[0]?.key ?? '' }
        return settle({ state: 'queued', admitted, blocked: aheadOf(s, holder, blocked, t) })
      }
      let needs = req.needs
      if (req.onBusy === 'refuseRate') {
        // a drop rate limit's newcomer: refused while a rate window is full; else let in, it
        // counts in its rate windows now (a drop rate limit counts the starts it lets in, running
        // or waiting) and waits, as any, for the rest only
        const rates = needs.filter((n) => n.kind === 'rate')
        const rate = blockOf(s, rates, t)
        if (rate) return { state: 'refused', blocked: rate }
        for (const n of rates) {
          s.seen.set(slotKey(n), n)
          s.limits.set(slotKey(n), n.limit)
          s.windows.set(slotKey(n), [...windowOf(s, n, t), t])
        }
        needs = needs.filter((n) => n.kind !== 'rate')
      }
      // those already waiting go first; a newcomer whose line waits takes its place in it (a
      // refusable one admits no one from the line: its refusal could not name them)
      const line = lineOf(needs)
      const admitted = req.onBusy === 'refuse' ? [] : pump(s, t, new Set([line]), moved)
      const lead = needs.find((x) => x.key !== '') ?? needs[0]
      const first = { id: lead?.id ?? '', key: lead?.key ?? '' }
      if (!s.lines.has(line)) {
        const blocked = blockOf(s, needs, t)
        if (!blocked) {
          take(s, holder, [...needs], req.leaseMs, t)
          asked()
          return settle({ state: 'admitted', admitted: [...admitted, holder] })
        }
        if (req.onBusy === 'refuse') return { state: 'refused', blocked }
      } else if (req.onBusy === 'refuse') return { state: 'refused', blocked: blockOf(s, needs, t) ?? first }
      enqueue(s, holder, { ...req, needs })
      asked()
      admitted.push(...pump(s, t, new Set([line]), moved))
      if (admitted.includes(holder)) return settle({ state: 'admitted', admitted })
      return settle({ state: 'queued', admitted, blocked: aheadOf(s, holder, blockOf(s, needs, t) ?? first, t) })
    },

    async releaseLimit(scope: string, holder: string) {
      checkLimitHolder(scope, holder)
      const s = scopeOf(scope)
      const t = now()
      // the concurrency slots it frees that were full: the heads they kept out may now wait for a rate window
      const full = new Set(
        (s.held.get(holder) ?? [])
          .filter((n) => n.kind === 'concurrency' && holdersOf(s, slotKey(n), t).size >= limitOf(s, n))
          .map(slotKey),
      )
      const freed = drop(s, holder)
      // the lines that can admit now: a freed keyed slot's own line; any line when a slot
      // without a key (shared by every line) or several slots were freed
      const only: Set<string> | undefined = freed.length > 1 || freed[0]?.key === '' ? undefined : new Set(freed.map(slotKey))
      const waiting = s.waiting.get(holder)
      const moved = new Set<string>()
      if (waiting) {
        const line = lineOf(waiting.needs)
        // the holder behind it is first now: its turn may come sooner than it was told
        if (s.lines.get(line)?.[0] === waiting) moved.add(line)
        unqueue(s, holder)
        only?.add(line)
        for (const n of waiting.needs) forget(s, n)
      }
      const key = s.singletonOf.get(holder)
      if (key !== undefined) {
        s.singletonOf.delete(holder)
        if (s.singletons.get(key) === holder) s.singletons.delete(key)
      }
      const admitted = only?.size === 0 ? [] : pump(s, t, only, moved)
      if (full.size > 0) {
        for (const line of only ?? s.ring) if (s.lines.get(line)?.[0]?.needs.some((n) => full.has(slotKey(n)))) moved.add(line)
      }
      const next = turnsOf(s, t, moved)
      return next.length > 0 ? { admitted, next } : { admitted }
    },

    async renewLimit(scope: string, holder: string, leaseMs: number) {
      checkLimitHolder(scope, holder)
      positiveInteger(leaseMs, 'renewLimit leaseMs')
      const s = scopeOf(scope)
      const t = now()
      if (!holds(s, holder, t)) return false
      renew(s, holder, leaseMs, t)
      return true
    },

    async limitHolders(scope: string) {
      const s = scopeOf(checkLimitScope(scope))
      const out = new Set<string>()
      for (const m of s.slots.values()) for (const [h, exp] of m) if (exp === Number.POSITIVE_INFINITY) out.add(h)
      return [...out].sort()
    },

    async limitUsage(scope: string) {
      const s = scopeOf(checkLimitScope(scope))
      const t = now()
      const out: LimitUsage[] = []
      for (const [k, n] of s.seen) {
        const active = n.kind === 'rate' ? windowOf(s, n, t).length : holdersOf(s, k, t).size
        const queued = s.lines.get(k)?.length ?? 0
        if (active === 0 && queued === 0) {
          s.seen.delete(k)
          s.limits.delete(k)
          if (s.slots.get(k)?.size === 0) s.slots.delete(k)
          continue
        }
        out.push({ id: n.id, kind: n.kind, key: n.key, active, queued })
      }
      return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    },

    async debounce(scope, key, holder, opts): Promise<DebounceAnswer> {
      const json = checkDebounce(scope, key, holder, opts)
      const s = scopeOf(scope)
      const t = now()
      let cur = s.debounces.get(key)
      // a window its run never settled (the start that opened it crashed) is gone a minute after it came due
      if (cur && cur.until + STALE_WINDOW_MS <= t) cur = undefined
      const cap = (first: number) => (opts.maxWaitMs === undefined ? Number.POSITIVE_INFINITY : first + opts.maxWaitMs)
      if (cur) {
        cur.until = Math.min(t + opts.periodMs, cap(cur.first))
        cur.json = json
        return { holder: cur.holder, until: cur.until, first: false }
      }
      const until = Math.min(t + opts.periodMs, cap(t))
      s.debounces.set(key, { holder, first: t, until, json })
      return { holder, until, first: true }
    },

    async settleDebounce(scope, key, holder) {
      checkDebounce(scope, key, holder)
      const s = scopeOf(scope)
      const cur = s.debounces.get(key)
      const t = now()
      if (!cur || cur.holder !== holder || cur.until + STALE_WINDOW_MS <= t) return null
      if (cur.until > t) return { until: cur.until }
      s.debounces.delete(key)
      return { input: JSON.parse(cur.json) as unknown }
    },

    async dropDebounce(scope, key, holder) {
      checkDebounce(scope, key, holder)
      const s = scopeOf(scope)
      if (s.debounces.get(key)?.holder !== holder) return false
      s.debounces.delete(key)
      return true
    },
  }
}
