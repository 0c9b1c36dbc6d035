import {
  AwaitTimeoutError,
  assertName,
  type Duration,
  EVENT_KINDS,
  type ExternalEvent,
  isLeanflowError,
  LeanflowError,
  NonDeterminismError,
  parseDuration,
} from '@leanflow/core'
import type { AwaitEventOptions, AwaitTriggerOptions, StepContext, TriggerHandle } from '../types.js'
import { announceAwait, appendResumed, iso } from './effects.js'
import type { Engine } from './engine.js'
import { type Execution, infra, never } from './execution.js'
import { keys, newId } from './jobIds.js'
import { assertNoFunctions, toJson } from './match.js'
import { type AwaitRec, type Rec, type RunDoc, type StepDoc, setOwn } from './runDoc.js'

const BUILTIN = new Set<string>(Object.values(EVENT_KINDS))
const TRIGGER_TTL_MS = 400 * 24 * 3600_000

/** Builds the `ctx` of one execution. */
export function createContext(engine: Engine, ex: Execution): StepContext {
  const user = (kind: string, data: unknown): Promise<void> => {
    ex.check()
    const seq = ++ex.seq
    ex.batch.push({ kind, data, seq })
    ex.pending = ex.pending.then(() => drain(engine, ex))
    ex.pending.catch(() => {})
    return ex.pending
  }
  const log = (level: 'debug' | 'info' | 'warn' | 'error') => (msg: string, fields?: Record<string, unknown>) => {
    if (ex.gone) return
    const data = fields === undefined ? { level, msg: String(msg) } : { level, msg: String(msg), fields: toJson(fields, 'log fields') }
    void user('log', data).catch(() => {})
  }
  return {
    runId: ex.runId,
    step: ex.step,
    attempt: ex.attempt,
    signal: ex.abort.signal,
    results: Object.freeze({ ...ex.results }),
    logger: { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') },
    state: {
      async get<T>(key: string) {
        ex.check()
        const d = await infra(ex, () => engine.states.read(ex.runId))
        return d && Object.hasOwn(d.state, key) ? (d.state[key] as T) : undefined
      },
      async set(key: string, value: unknown) {
        ex.check()
        if (typeof key !== 'string' || key === '')
          throw new LeanflowError('INVALID_ARGUMENT', 'ctx.state.set needs a non-empty string key.')
        const v = toJson(value, `state value of "${key}"`)
        await flushAndFence(engine, ex)
        await casOwned(engine, ex, (d) => {
          setOwn(d.state, key, v)
          return true
        })
        await user('state.set', { key, value: v })
      },
    },
    async emit(kind: string, data?: unknown) {
      assertName(kind, 'event kind')
      if (BUILTIN.has(kind))
        throw new LeanflowError(
          'INVALID_ARGUMENT',
          `ctx.emit("${kind}"): built-in kinds are the runner's; use a kind of your own, e.g. "order.shipped".`,
        )
      await user(kind, toJson(data, `data of "${kind}"`))
    },
    async do<T>(name: string, fn: () => T | Promise<T>): Promise<T> {
      ex.check()
      if (typeof name !== 'string' || name === '') throw new LeanflowError('INVALID_ARGUMENT', 'ctx.do needs a name (a non-empty string).')
      const pos = ex.cursor++
      const rec = ex.records[pos]
      if (rec) {
        if (rec.t !== 'do' || rec.name !== name) throw nonDeterminism(ex, pos, `ctx.do("${name}")`, rec)
        return rec.value as T
      }
      const value = await fn()
      ex.check()
      const stored = value === undefined ? undefined : toJson(value, `result of ctx.do("${name}")`)
      const next: Rec = stored === undefined ? { t: 'do', name } : { t: 'do', name, value: stored }
      await casOwned(engine, ex, (_d, s) => {
        if (s.records.length !== pos) return false
        s.records.push(next)
        return true
      })
      ex.records[pos] = next
      return stored as T
    },
    await: {
      async time(at: Duration | Date) {
        ex.check()
        const pos = ex.cursor++
        const rec = ex.records[pos]
        if (rec) {
          if (rec.t !== 'time') throw nonDeterminism(ex, pos, 'await.time', rec)
          await reannounce(engine, ex, pos, rec)
          return (await suspendOn(engine, ex, pos)) as undefined
        }
        const absolute = at instanceof Date ? at.getTime() : undefined
        if (absolute !== undefined && !Number.isFinite(absolute))
          throw new LeanflowError('INVALID_ARGUMENT', 'await.time got an invalid Date.')
        const ms = absolute === undefined ? parseDuration(at as Duration, 'await.time duration') : 0
        const now = await infra(ex, () => engine.storeNow())
        const resumeAt = absolute ?? now + ms
        const done = resumeAt <= now
        const r: AwaitRec = done
          ? { t: 'time', at: resumeAt, state: 'resolved', since: now, doneAt: now, attempt: ex.attempt }
          : { t: 'time', at: resumeAt, state: 'pending', since: now, attempt: ex.attempt }
        await register(engine, ex, pos, r, !done)
        await infra(ex, () => announceAwait(engine, ex.runId, ex.step, pos, r))
        if (done) {
          await infra(ex, () => appendResumed(engine, ex.runId, ex.step, ex.attempt, pos, r))
          return
        }
        ex.stop('suspended')
        return never()
      },
      async event<D>(opts: AwaitEventOptions): Promise<ExternalEvent<D>> {
        ex.check()
        assertNoFunctions(opts, 'await.event options')
        const kind = assertName(opts?.kind, 'event kind')
        if (opts.match !== undefined && (typeof opts.match !== 'object' || opts.match === null || Array.isArray(opts.match))) {
          throw new LeanflowError(
            'INVALID_ARGUMENT',
            "await.event match must be an object of JSON paths to values, e.g. { 'data.orderId': id }.",
          )
        }
        const timeoutMs = opts.timeout === undefined ? undefined : parseDuration(opts.timeout, 'await.event timeout')
        const pos = ex.cursor++
        const rec = ex.records[pos]
        if (rec) {
          if (rec.t !== 'event' || rec.kind !== kind) throw nonDeterminism(ex, pos, `await.event("${kind}")`, rec)
          await reannounce(engine, ex, pos, rec)
          return (await suspendOn(engine, ex, pos)) as ExternalEvent<D>
        }
        const match = opts.match === undefined ? undefined : (toJson(opts.match, 'await.event match') as Record<string, unknown>)
        const now = await infra(ex, () => engine.storeNow())
        const timeoutAt = timeoutMs === undefined ? undefined : now + timeoutMs
        await infra(ex, () => engine.store.watchKind(kind, ex.runId))
        const r: AwaitRec = { t: 'event', kind, state: 'pending', since: now, attempt: ex.attempt }
        if (match) r.match = match
        if (timeoutAt !== undefined) r.timeoutAt = timeoutAt
        await register(engine, ex, pos, r, false)
        await infra(ex, () => announceAwait(engine, ex.runId, ex.step, pos, r))
        await infra(ex, () => engine.matchEvents(ex.runId))
        return (await suspendOn(engine, ex, pos)) as ExternalEvent<D>
      },
      async trigger<T>(opts: AwaitTriggerOptions): Promise<TriggerHandle<T>> {
        ex.check()
        assertNoFunctions(opts, 'await.trigger options')
        const type = opts?.type
        if (typeof type !== 'string' || type.length === 0 || type.length > 128) {
          throw new LeanflowError(
            'INVALID_ARGUMENT',
            `await.trigger type ${JSON.stringify(type)} must be a label of 1-128 characters, e.g. 'webhook'.`,
          )
        }
        const timeoutMs = opts.timeout === undefined ? undefined : parseDuration(opts.timeout, 'await.trigger timeout')
        const pos = ex.cursor++
        const rec = ex.records[pos]
        const handle = (id: string): TriggerHandle<T> => ({ id, wait: async () => (await suspendOn(engine, ex, pos)) as T })
        if (rec) {
          if (rec.t !== 'trigger' || rec.type !== type) throw nonDeterminism(ex, pos, `await.trigger("${type}")`, rec)
          await reannounce(engine, ex, pos, rec)
          return handle(rec.id)
        }
        const payload = opts.payload === undefined ? undefined : toJson(opts.payload, 'await.trigger payload')
        const id = newId()
        const now = await infra(ex, () => engine.storeNow())
        const timeoutAt = timeoutMs === undefined ? undefined : now + timeoutMs
        await infra(ex, () => engine.store.putLookup('trigger', id, ex.runId, (timeoutMs ?? TRIGGER_TTL_MS) + TRIGGER_TTL_MS))
        const r: AwaitRec = { t: 'trigger', type, id, state: 'pending', since: now, attempt: ex.attempt }
        if (timeoutAt !== undefined) r.timeoutAt = timeoutAt
        if (payload !== undefined) r.payload = payload
        await register(engine, ex, pos, r, false)
        await infra(ex, () => announceAwait(engine, ex.runId, ex.step, pos, r))
        return handle(id)
      },
    },
  }
}

/**
 * A replayed await of an execution that took a running step over: announces it again
 * (`step.await.*` and its timer or timeout job, both idempotent), since the announcement of the
 * execution that was cut off may be missing. Skipped when this process saw it stored.
 */
async function reannounce(engine: Engine, ex: Execution, pos: number, r: AwaitRec) {
  if (!ex.takeover || engine.knows(ex.runId, keys.awaited(ex.step, pos))) return
  await infra(ex, () => announceAwait(engine, ex.runId, ex.step, pos, r))
}

/** Waits for queued user appends; throws when the execution lost its lease or the run ended. */
export async function flushAndFence(engine: Engine, ex: Execution): Promise<void> {
  ex.pending = ex.pending.then(() => drain(engine, ex))
  await infra(ex, () => ex.pending)
  ex.check()
}

/**
 * Appends the queued user events in call order, each fenced by the execution's lease: the store
 * refuses it atomically (nothing written) once the lease was taken over or the run ended.
 */
async function drain(engine: Engine, ex: Execution) {
  if (ex.batch.length === 0) return
  const items = ex.batch.splice(0)
  const fence = { key: ex.step, token: ex.lease }
  for (const it of items) {
    ex.check()
    try {
      await engine.append(ex.runId, ex.step, it.kind, it.data, keys.user(ex.step, ex.attempt, it.seq), { attempt: ex.attempt }, { fence })
    } catch (err) {
      if (!isLeanflowError(err, 'NON_RETRIABLE')) throw err
      // fenced: tell a lost lease from an ended run (cancel, another step failed for good)
      const d = await engine.states.read(ex.runId).catch(() => null)
      throw ex.stop(d !== null && d.status === 'running' ? 'lease' : 'ended')
    }
  }
}

/** One CAS guarded by this execution's lease; `fn` returning false means the lease is gone. */
async function casOwned(engine: Engine, ex: Execution, fn: (d: RunDoc, s: StepDoc) => boolean) {
  const { value } = await infra(ex, () =>
    engine.states.update(ex.runId, (d) => {
      const s = d?.steps[ex.step]
      if (d?.status !== 'running') return 'ended' as const
      if (!s || s.lease !== ex.lease || s.status !== 'running') return 'lease' as const
      return fn(d, s) === false ? ('lease' as const) : ('ok' as const)
    }),
  )
  if (value !== 'ok') throw ex.stop(value)
}

async function register(engine: Engine, ex: Execution, pos: number, r: AwaitRec, suspend: boolean) {
  await flushAndFence(engine, ex)
  await casOwned(engine, ex, (_d, s) => {
    if (s.records.length !== pos) return false
    s.records.push(r)
    if (suspend) {
      s.status = 'suspended'
      s.waitingOn = pos
      delete s.lease
    }
    return true
  })
  ex.records[pos] = r
}

/** The value of the await at `pos`; suspends the step (never settles) while it is pending. */
async function suspendOn(engine: Engine, ex: Execution, pos: number): Promise<unknown> {
  ex.check()
  let r = ex.records[pos] as AwaitRec
  if (r.state === 'pending') {
    await flushAndFence(engine, ex)
    const { value } = await infra(ex, () =>
      engine.states.update(ex.runId, (d) => {
        const s = d?.steps[ex.step]
        if (d?.status !== 'running') return 'ended' as const
        if (!s || s.lease !== ex.lease || s.status !== 'running') return 'lease' as const
        const cur = s.records[pos] as AwaitRec
        if (cur.state !== 'pending') return cur
        s.status = 'suspended'
        s.waitingOn = pos
        delete s.lease
        return 'suspended' as const
      }),
    )
    if (value === 'ended' || value === 'lease') throw ex.stop(value)
    if (value === 'suspended') {
      ex.stop('suspended')
      return never()
    }
    r = value
    ex.records[pos] = r
    if (r.state === 'resolved') await infra(ex, () => appendResumed(engine, ex.runId, ex.step, ex.attempt, pos, r))
  }
  if (r.state === 'timedOut') throw new AwaitTimeoutError(`await.${r.t} of step "${ex.step}" timed out at ${iso(r.timeoutAt ?? 0)}.`)
  if (r.state === 'canceled') throw ex.stop('ended')
  return r.t === 'event' ? r.event : r.t === 'trigger' ? r.value : undefined
}

function nonDeterminism(ex: Execution, pos: number, call: string, rec: Rec): NonDeterminismError {
  const was =
    rec.t === 'do'
      ? `ctx.do("${rec.name}")`
      : rec.t === 'event'
        ? `await.event("${rec.kind}")`
        : rec.t === 'trigger'
          ? `await.trigger("${rec.type}")`
          : 'await.time'
  return new NonDeterminismError(
    `Step "${ex.step}" of run ${ex.runId} made call #${pos + 1} ${call}, but the recorded call #${pos + 1} was ${was}: keep the order of awaits and ctx.do calls stable (a changed handler needs a new run).`,
  )
}
