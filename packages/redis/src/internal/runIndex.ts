import {
  invalidArgument,
  type ListRunsOptions,
  positiveInteger,
  type RunCounts,
  type RunStatus,
  type RunSummary,
  STORE_DEFAULTS,
  storeOptions,
} from '@leanflow/core'
import { INDEXED_STATUSES, type IndexedStatus, type Keys } from '../keys.js'
import { FLOWS_ADD_LUA, RUN_INDEX_DROP_LUA, RUN_INDEX_LUA } from '../lua/runIndex.js'
import { defineScript, type RedisClient } from './script.js'

const STATUSES: readonly RunStatus[] = ['pending', 'queued', 'running', 'awaiting', 'completed', 'failed', 'canceled']
const indexScript = defineScript(RUN_INDEX_LUA)
const dropScript = defineScript(RUN_INDEX_DROP_LUA)
const flowsScript = defineScript(FLOWS_ADD_LUA)
/** Expired entries checked per round trip when pruning a flow's index. */
const PRUNE_PAGE = 1000
/** How long the Redis clock's offset from this process's is trusted before `TIME` is read again. */
const CLOCK_REFRESH_MS = 30_000
/**
 * Runs of a flow this process ends between two background prunes of its index, and the expired
 * entries each prune drops at most: four a run end, so the index keeps up with expiry however
 * rarely anyone lists runs (the entries of a service that never does grew ~460 B a run for ever).
 */
const PRUNE_EVERY = 16
const PRUNE_SOME = 4 * PRUNE_EVERY
/** Flows whose run ends this process counts at once (a bound: a flow beyond it is counted afresh). */
const MAX_COUNTED_FLOWS = 10_000

/** A run's index entry, as the append script reports it when the run's status changes. */
export interface IndexEntry {
  flow: string
  runId: string
  status: IndexedStatus
  /** Id of the event that set the status: the entry's version. */
  sid: string
  startedAtMs: number
}

/**
 * The secondary run index, per flow, all in the flow's slot (`lf:flow:{<flow>}:…`): the runs
 * (score = start ms), one sorted set per status (score = start ms), the finished runs (score
 * = expiry ms, so expired entries can be pruned) and each entry's version; plus the flows
 * set. The run's status is decided by the append script in the run's slot (its summary hash
 * is the truth); these keys live in another slot, so the client writes the entry right after
 * the script, through one versioned script (RUN_INDEX_LUA): a late or repeated write never
 * undoes a newer one. `listRuns({ status })` reads one page of that status's set and checks
 * the page's entries against their summaries (a mismatch is repaired from the summary).
 */
export class RunIndex {
  /** Redis's clock minus this process's (ms), and when it was read (this process's clock). */
  private clock: { offset: number; at: number } | undefined
  /** Run ends written per flow since its last background prune, and the flows being pruned. */
  private readonly ends = new Map<string, number>()
  private readonly pruning = new Set<string>()

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
    private readonly retentionMs: number,
  ) {}

  /**
   * Now on the Redis server's clock, which dated every expiry (an event id's ms plus retention):
   * `TIME` read at most every {@link CLOCK_REFRESH_MS}, the offset taken at the round trip's
   * midpoint. A process whose own clock is off still prunes what has expired, and only that.
   */
  private async serverNow(): Promise<number> {
    const local = Date.now()
    if (!this.clock || Math.abs(local - this.clock.at) >= CLOCK_REFRESH_MS) {
      const [s, us] = await this.redis.time()
      const after = Date.now()
      this.clock = { offset: Number(s) * 1000 + Math.floor(Number(us) / 1000) - (local + after) / 2, at: after }
    }
    return Math.round(Date.now() + this.clock.offset)
  }

  /** Writes a run's entry (after an append that set its status, or to repair it); `started`: also list the flow. */
  async apply(e: IndexEntry, started: boolean): Promise<void> {
    const k = this.keys
    const others = INDEXED_STATUSES.filter((s) => s !== e.status).map((s) => k.flowStatus(e.flow, s))
    const finished = e.status === 'completed' || e.status === 'failed' || e.status === 'canceled'
    const expires = finished ? String(Number(e.sid.slice(0, e.sid.indexOf('-'))) + this.retentionMs) : ''
    const write = indexScript.call(
      this.redis,
      [k.flowRuns(e.flow), k.flowDone(e.flow), k.flowVersions(e.flow), k.flowStatus(e.flow, e.status), ...others],
      [e.runId, e.sid, e.startedAtMs, expires],
    )
    await (started ? Promise.all([write, flowsScript.call(this.redis, [k.flows()], [e.flow])]) : write)
    if (finished) this.ended(e.flow)
  }

  /**
   * Counts a run end of `flow`; every {@link PRUNE_EVERY}th, drops up to {@link PRUNE_SOME} of its
   * expired entries in the background (one prune of a flow at a time; a failure is left to the
   * next one, or to `listRuns`, which prunes them all).
   */
  private ended(flow: string): void {
    const n = (this.ends.get(flow) ?? 0) + 1
    if (n < PRUNE_EVERY || this.pruning.has(flow)) {
      if (this.ends.size >= MAX_COUNTED_FLOWS && !this.ends.has(flow)) this.ends.clear()
      this.ends.set(flow, n)
      return
    }
    this.ends.set(flow, 0)
    this.pruning.add(flow)
    this.pruneSome(flow)
      .catch(() => {})
      .finally(() => this.pruning.delete(flow))
  }

  /** One page of {@link prune}: up to {@link PRUNE_SOME} expired entries of `flow` dropped. */
  private async pruneSome(flow: string): Promise<void> {
    await this.prunePage(flow, await this.serverNow(), 0, PRUNE_SOME)
  }

  async listRuns(flow: string, options?: ListRunsOptions): Promise<RunSummary[]> {
    const opts = storeOptions('listRuns', options)
    const { status } = opts
    const limit = positiveInteger(opts.limit ?? STORE_DEFAULTS.listLimit, 'listRuns limit')
    if (opts.before !== undefined && !Number.isFinite(opts.before))
      throw invalidArgument('listRuns before', opts.before, 'a start time in ms')
    if (status !== undefined && !STATUSES.includes(status))
      throw invalidArgument('listRuns status', status, `one of ${STATUSES.join(', ')}`)
    const key = this.keys.flowRuns(flow) // validates the flow name
    if (status === 'pending') return [] // a run is indexed from its flow.started on: never pending
    const setKey = status === undefined ? key : this.keys.flowStatus(flow, status)
    await this.prune(flow)
    const max = opts.before === undefined ? '+inf' : `(${opts.before}`
    // one page, then more only for entries the check drops (expired runs, entries being moved)
    const batch = Math.min(limit, 1000)
    const out: RunSummary[] = []
    const stale: string[] = []
    const repairs: IndexEntry[] = []
    for (let offset = 0; out.length < limit; offset += batch) {
      const ids = await this.redis.zrevrangebyscore(setKey, max, '-inf', 'LIMIT', offset, batch)
      const metas = await Promise.all(
        ids.map((id) =>
          this.redis.hmget(
            this.keys.meta(id),
            'flow',
            'status',
            'startedAt',
            'completedAt',
            'sid',
            'parentRun',
            'parentStep',
            'children',
            'version',
          ),
        ),
      )
      for (let i = 0; i < ids.length && out.length < limit; i++) {
        const runId = ids[i]!
        const [f, st, startedAt, completedAt, sid, parentRun, parentStep, children, version] = metas[i]!
        // expired, or its id used again from scratch (in another flow, or with no flow.started): not this flow's now
        if (f !== flow || startedAt == null) {
          stale.push(runId)
          continue
        }
        if (status !== undefined && st !== status) {
          // the entry is behind the summary (its move is in flight, or was lost): move it now
          if (sid != null && (INDEXED_STATUSES as readonly string[]).includes(st ?? '')) {
            repairs.push({ flow, runId, status: st as IndexedStatus, sid, startedAtMs: Number(startedAt) })
          }
          continue
        }
        const summary: RunSummary = { runId, flow, status: st as RunStatus, startedAt: iso(startedAt) }
        if (completedAt != null) summary.completedAt = iso(completedAt)
        if (parentRun != null && parentStep != null) summary.parent = { runId: parentRun, step: parentStep }
        if (version != null) summary.version = Number(version)
        if (children != null) summary.children = Number(children)
        out.push(summary)
      }
      if (ids.length < batch) break
    }
    await Promise.all([stale.length > 0 ? this.drop(flow, stale) : undefined, ...repairs.map((e) => this.apply(e, false))])
    return out
  }

  /** A flow's runs per status: the size of each status's set (after pruning expired entries). */
  async countRuns(flow: string): Promise<RunCounts> {
    const key = this.keys.flowRuns(flow) // validates the flow name
    await this.prune(flow)
    const [runs, ...counts] = await Promise.all([
      this.redis.zcard(key),
      ...INDEXED_STATUSES.map((s) => this.redis.zcard(this.keys.flowStatus(flow, s))),
    ])
    const statuses = { pending: 0 } as Record<RunStatus, number>
    INDEXED_STATUSES.forEach((s, i) => {
      statuses[s] = counts[i]!
    })
    return { runs: runs!, statuses }
  }

  async listFlows(): Promise<Array<{ flow: string; runs: number }>> {
    const flows = (await this.redis.smembers(this.keys.flows())).sort()
    await Promise.all(flows.map((f) => this.prune(f)))
    const counts = await Promise.all(flows.map((f) => this.redis.zcard(this.keys.flowRuns(f))))
    const out: Array<{ flow: string; runs: number }> = []
    const empty: string[] = []
    flows.forEach((flow, i) => {
      if (counts[i]! > 0) out.push({ flow, runs: counts[i]! })
      else empty.push(flow)
    })
    if (empty.length > 0) await this.unlist(empty)
    return out
  }

  /**
   * Drops flows found empty from the flows set, then lists again any that a run started meanwhile
   * (its entry and its flow's listing are written after each other on one connection: a listing
   * that was a no-op because the flow was still listed is followed by an entry this re-count sees).
   */
  private async unlist(flows: string[]): Promise<void> {
    await this.redis.srem(this.keys.flows(), ...flows)
    const counts = await Promise.all(flows.map((f) => this.redis.zcard(this.keys.flowRuns(f))))
    const back = flows.filter((_, i) => counts[i]! > 0)
    await Promise.all(back.map((f) => flowsScript.call(this.redis, [this.keys.flows()], [f])))
  }

  /**
   * Removes index entries of runs whose expiry has passed and that are no longer this flow's:
   * their keys are gone, or their id was used again from scratch (its summary names another flow,
   * or none), by the Redis server's clock. Every one, in pages of {@link PRUNE_PAGE}, so counts
   * are exact however many runs expired at once; an entry whose run is still there (Redis has not expired its keys yet) is
   * stepped over.
   */
  private async prune(flow: string): Promise<void> {
    const now = await this.serverNow()
    for (let kept = 0; ; ) {
      const page = await this.prunePage(flow, now, kept, PRUNE_PAGE)
      kept += page.kept
      if (page.seen < PRUNE_PAGE) return
    }
  }

  /** Drops the entries of one page of `flow`'s expired ones (from `offset`, `size` of them) that are no longer its runs; says how many it saw and kept. */
  private async prunePage(flow: string, now: number, offset: number, size: number): Promise<{ seen: number; kept: number }> {
    const due = await this.redis.zrangebyscore(this.keys.flowDone(flow), '-inf', now, 'LIMIT', offset, size)
    if (due.length === 0) return { seen: 0, kept: 0 }
    const owners = await Promise.all(due.map((id) => this.redis.hget(this.keys.meta(id), 'flow')))
    const gone = due.filter((_, i) => owners[i] !== flow)
    if (gone.length > 0) await this.drop(flow, gone)
    return { seen: due.length, kept: due.length - gone.length }
  }

  private async drop(flow: string, runIds: string[]): Promise<void> {
    const k = this.keys
    const keys = [k.flowRuns(flow), k.flowDone(flow), k.flowVersions(flow), ...INDEXED_STATUSES.map((s) => k.flowStatus(flow, s))]
    // in pages: the script unpacks its arguments, which Lua caps at a few thousand
    for (let i = 0; i < runIds.length; i += PRUNE_PAGE) await dropScript.call(this.redis, keys, runIds.slice(i, i + PRUNE_PAGE))
  }
}

function iso(ms: string): string {
  return new Date(Number(ms)).toISOString()
}
