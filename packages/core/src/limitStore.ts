/**
 * The port for flow control (`defineFlow({ concurrency, rateLimit, debounce, singleton })` and
 * step-level `concurrency`): the limits of one scope — a flow (`order`) or one of its steps
 * (`order/charge`) — held in the store, never in one process, so every runner on one store shares
 * them. Each call is one atomic decision (one Lua script on Redis; a scope's keys share one hash
 * tag on Cluster). Holders are run ids (flow scope) or `<runId>~<step>` (step scope).
 *
 * A holder that needs several limits is admitted when all of them admit, taking a slot in each
 * at once. The queue of a scope is ordered by priority (higher first), then FIFO, per round-robin
 * line (the holder's first need that has a key, else its first need); across lines, admission
 * takes turns — one busy tenant cannot starve the others behind a shared limit. Every call
 * that can free capacity (`acquireLimit`, `releaseLimit`) also admits what now fits and returns
 * those holders: the caller hands each one off (starts the run or the step). A call that moves a
 * line a rate limit keeps out (its head was admitted, or left it) names the new head and its turn
 * (`next`): the caller has it ask again then, as a rate window frees no event of its own.
 *
 * Time is the store's clock. Both built-in stores implement it; a custom store that does not can
 * still run flows without flow control.
 */

/** One limit a holder needs, with the key its key function gave (`''`: the limit has no key). */
export interface LimitNeed {
  /** The limit within its scope, stable across deploys: e.g. `concurrency.0`, `rateLimit`. A name. */
  id: string
  /** `concurrency`: at most `limit` holders at once. `rate`: at most `limit` admissions in any window of `periodMs`. */
  kind: 'concurrency' | 'rate'
  /** A name, or `''`. */
  key: string
  /** A positive integer. */
  limit: number
  /** The window of a `rate` limit (positive ms). */
  periodMs?: number
}

/** What {@link LimitStore.acquireLimit} asks for. */
export interface LimitRequest {
  /** Who takes the slots: a run id, or `<runId>~<step>`. */
  holder: string
  /** Every limit it needs (at least one unless `singleton` is given). */
  needs: readonly LimitNeed[]
  /** -100..100, higher admitted first; default 0. */
  priority?: number
  /**
   * `queue` (default): wait in line when not admitted now. `refuse`: take nothing, change nothing.
   * `refuseRate` (a drop rate limit): refused as `refuse` while a rate need's window is full;
   * else counted in its rate windows at once and admitted or queued for its other needs only (it
   * does not count again when admitted), in one step of the store.
   */
  onBusy?: 'queue' | 'refuse' | 'refuseRate'
  /**
   * Concurrency slots expire this many ms after they are taken or renewed (step executions: a
   * dead worker's slot frees itself). Absent: held until released (runs).
   */
  leaseMs?: number
  /**
   * At most one active holder per key (queued ones count): `skip` answers `taken` with the
   * active holder and writes nothing; `cancel` takes the key over and names the holder it
   * supersedes (the caller cancels that run).
   */
  singleton?: { key: string; mode: 'skip' | 'cancel' }
}

/** Which limit keeps a holder out, and until when. */
export interface LimitBlock {
  id: string
  key: string
  /**
   * Store ms the limit may admit again: a rate window frees, or the earliest lease among its
   * holders expires. Absent: on a release. For a holder queued by a rate limit: its own turn, when
   * the admission `limit` places before its own leaves the window (the `ahead` before it counted:
   * `ahead` 0 waits for the oldest admission, `ahead` 1 for the second, `ahead` = `limit` a period
   * after the oldest), so the holders queued together each ask when they may go.
   */
  retryAt?: number
  /** For a queued holder kept out by a rate limit: how many wait ahead of it in its line. */
  ahead?: number
}

/**
 * A queued holder now at the head of a line that a rate limit keeps out, whose turn a call moved
 * (the holder ahead of it was admitted, or left the line: released, or its run canceled).
 */
export interface LimitTurn {
  holder: string
  /** Store ms its turn comes: the caller has it ask again then (its earlier turn may have been later). */
  retryAt: number
}

/** The answer of {@link LimitStore.acquireLimit}. */
export type LimitAnswer =
  | {
      /** `admitted`: the holder holds its slots (again, for a holder that already did: its lease renewed). */
      state: 'admitted' | 'queued'
      /** Holders this call admitted from the queue (the holder itself among them when it was), in admission order. */
      admitted: string[]
      /** Why a queued holder waits. */
      blocked?: LimitBlock
      /** The holder the singleton key named before this call took it over (`mode: 'cancel'`). */
      superseded?: string
      /** The heads of rate-limited lines this call moved, with their turns (absent: none). */
      next?: LimitTurn[]
    }
  | { state: 'refused'; blocked: LimitBlock }
  | { state: 'taken'; holder: string }

/** One limit's use in a scope (for `GET /:flow/limits`). */
export interface LimitUsage {
  id: string
  kind: 'concurrency' | 'rate'
  key: string
  /** Holders now (concurrency), or admissions in the current window (rate). */
  active: number
  /** Holders waiting in this limit and key's line (their first need with a key, else their first need). */
  queued: number
}

/** The answer of {@link LimitStore.debounce}. */
export interface DebounceAnswer {
  /** The run the call folds into (`holder` itself when it opened the window). */
  holder: string
  /** Store ms the folded run is due: `periodMs` after the last call, at most `maxWaitMs` after the first. */
  until: number
  /** True when this call opened the window (a new run); false when it folded into `holder`. */
  first: boolean
}

/**
 * Flow control in a store.
 *
 * @example
 * ```ts
 * const need = { id: 'concurrency.0', kind: 'concurrency', key: 'tenant-1', limit: 2 } as const
 * const a = await store.acquireLimit('sync', { holder: runId, needs: [need] })
 * if (a.state === 'admitted') start(runId)
 * // when the run ends:
 * const { admitted } = await store.releaseLimit('sync', runId)
 * for (const next of admitted) start(next)
 * ```
 */
export interface LimitStore {
  /**
   * Admits `req.holder` when every need admits (taking a slot in each, and recording the admission
   * in each rate window), else queues it (or refuses, changing nothing). A holder already holding
   * its slots is admitted again (leases renewed); one already queued keeps its place. Also admits
   * what now fits from the queue. A key's limit is the one its latest ask gave (a deploy that
   * changes it reaches the holders in its line): kept with the key while it is in use.
   */
  acquireLimit(scope: string, req: LimitRequest): Promise<LimitAnswer>
  /**
   * The holder gives up its concurrency slots, its place in line and its singleton key; what now
   * fits is admitted. Releasing what is not held changes nothing (idempotent). A queued holder that
   * leaves the head of a line a rate limit keeps out names the holder now first and its turn
   * (`next`, absent when none): it may come sooner than the turn that holder was given. So does a
   * holder freeing a full concurrency slot, for each line whose head it kept out and a rate limit
   * keeps out now (that head waited for a release, not a turn).
   */
  releaseLimit(scope: string, holder: string): Promise<{ admitted: string[]; next?: LimitTurn[] }>
  /** Extends a leased holder's slots by `leaseMs` from now; false when it holds none (expired or released). */
  renewLimit(scope: string, holder: string, leaseMs: number): Promise<boolean>
  /** The holders of unleased concurrency slots (runs): a runner checks them for runs that ended without releasing. */
  limitHolders(scope: string): Promise<string[]>
  /** Each limit of the scope that has holders, admissions in its window or a queue. */
  limitUsage(scope: string): Promise<LimitUsage[]>
  /**
   * One call of a debounced start: opens a window for `holder` with `input`, or folds into the
   * open window of `key` (its input replaced by this call's). A window not settled a minute after it
   * came due (its run was never written) counts as closed.
   */
  debounce(
    scope: string,
    key: string,
    holder: string,
    opts: { periodMs: number; maxWaitMs?: number; input: unknown },
  ): Promise<DebounceAnswer>
  /**
   * Closes `holder`'s window of `key` when it is due: the last call's input. `{ until }` when it is
   * not due yet (a later call moved it); `null` when `holder` has no open window of `key`.
   */
  settleDebounce(scope: string, key: string, holder: string): Promise<{ input: unknown } | { until: number } | null>
  /**
   * Closes `holder`'s window of `key` at once, due or not (its run was canceled while it waited):
   * the next call opens a new window instead of folding into a run that has ended. False when
   * `holder` has no open window of `key`. Optional: without it, a canceled run's window stays
   * open until it comes due and the calls meanwhile fold into the canceled run.
   */
  dropDebounce?(scope: string, key: string, holder: string): Promise<boolean>
}
