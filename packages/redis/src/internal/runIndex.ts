import { LeanflowError, type ListRunsOptions, type RunStatus, type RunSummary, STORE_DEFAULTS } from '@leanflow/core'
import type { Keys } from '../keys.js'
import type { RedisClient } from './script.js'

const STATUSES: readonly RunStatus[] = ['pending', 'running', 'awaiting', 'completed', 'failed', 'canceled']

/**
 * The secondary run index: `lf:flow:<flow>:runs` (score = start ms), the
 * flows set, and `lf:flow:<flow>:done` (score = expiry ms of finished runs,
 * so expired entries can be pruned). These keys live in other slots than
 * the run's, so the client writes them right after the append script
 * (idempotent ZADD/SADD); the run's summary hash, written by the script, is
 * the truth each entry is checked against.
 */
export class RunIndex {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
  ) {}

  /** After `flow.started`: index the run under its flow. */
  async started(flow: string, runId: string, startedAtMs: number): Promise<void> {
    await Promise.all([this.redis.zadd(this.keys.flowRuns(flow), startedAtMs, runId), this.redis.sadd(this.keys.flows(), flow)])
  }

  /** After a terminal event: remember when the run's keys expire. */
  async finished(flow: string, runId: string, expiresAtMs: number): Promise<void> {
    await this.redis.zadd(this.keys.flowDone(flow), expiresAtMs, runId)
  }

  async listRuns(flow: string, opts: ListRunsOptions = {}): Promise<RunSummary[]> {
    const key = this.keys.flowRuns(flow)
    const limit = opts.limit ?? STORE_DEFAULTS.listLimit
    if (!Number.isInteger(limit) || limit < 1) throw invalid('limit', limit, 'a positive integer')
    if (opts.before !== undefined && !Number.isFinite(opts.before)) throw invalid('before', opts.before, 'a start time in ms')
    if (opts.status !== undefined && !STATUSES.includes(opts.status)) throw invalid('status', opts.status, STATUSES.join(' | '))
    await this.prune(flow)
    const max = opts.before === undefined ? '+inf' : `(${opts.before}`
    const batch = Math.min(Math.max(limit * 2, 100), 1000)
    const out: RunSummary[] = []
    const stale: string[] = []
    for (let offset = 0; out.length < limit; offset += batch) {
      const ids = await this.redis.zrevrangebyscore(key, max, '-inf', 'LIMIT', offset, batch)
      const metas = await Promise.all(ids.map((id) => this.redis.hmget(this.keys.meta(id), 'flow', 'status', 'startedAt', 'completedAt')))
      for (let i = 0; i < ids.length && out.length < limit; i++) {
        const [f, status, startedAt, completedAt] = metas[i]!
        if (f == null || startedAt == null) {
          stale.push(ids[i]!)
          continue
        }
        if (f !== flow || (opts.status !== undefined && status !== opts.status)) continue
        const summary: RunSummary = { runId: ids[i]!, flow, status: status as RunStatus, startedAt: iso(startedAt) }
        if (completedAt != null) summary.completedAt = iso(completedAt)
        out.push(summary)
      }
      if (ids.length < batch) break
    }
    if (stale.length > 0) await this.redis.zrem(key, ...stale)
    return out
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
    if (empty.length > 0) await this.redis.srem(this.keys.flows(), ...empty)
    return out
  }

  /** Removes index entries of runs whose expiry has passed and whose keys are gone. */
  private async prune(flow: string): Promise<void> {
    const done = this.keys.flowDone(flow)
    const due = await this.redis.zrangebyscore(done, '-inf', Date.now(), 'LIMIT', 0, 1000)
    if (due.length === 0) return
    const alive = await Promise.all(due.map((id) => this.redis.exists(this.keys.meta(id))))
    const gone = due.filter((_, i) => alive[i] === 0)
    if (gone.length === 0) return
    await Promise.all([this.redis.zrem(this.keys.flowRuns(flow), ...gone), this.redis.zrem(done, ...gone)])
  }
}

function iso(ms: string): string {
  return new Date(Number(ms)).toISOString()
}

function invalid(name: string, value: unknown, expected: string): LeanflowError {
  return new LeanflowError('INVALID_ARGUMENT', `listRuns "${name}" must be ${expected}, got ${JSON.stringify(value)}.`)
}
