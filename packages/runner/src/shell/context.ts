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
import { eventAwait, eventCall } from '../machine/awaits/event.js'
import { announceOutputs, awaitValue, callLabel } from '../machine/awaits/index.js'
import { timeAwait } from '../machine/awaits/time.js'
import { triggerAwait, triggerCall } from '../machine/awaits/trigger.js'
import type { Command } from '../machine/index.js'
import { keys } from '../machine/keys.js'
import { iso } from '../machine/outputs.js'
import type { AwaitRec, Rec } from '../machine/runDoc.js'
import type { AwaitEventOptions, AwaitTriggerOptions, StepContext, TriggerHandle } from '../types.js'
import { apply, carry } from './apply.js'
import { type Execution, never, orHandBack } from './execution.js'
import { assertNoFunctions, toJson } from './json.js'
import { newId } from './newId.js'
import type { Shell } from './shell.js'

const BUILTIN = new Set<string>(Object.values(EVENT_KINDS))
const TRIGGER_TTL_MS = 400 * 24 * 3600_000

/**
 * The `ctx` of one execution: replays the step's recorded calls (`ctx.do` results, awaits) in
 * call order and sends every new one to the machine as a command of the execution holding the
 * step's lease (`record`, `setState`, `announce`, `suspend`); `log`, `emit` and `state.set`
 * events are the execution's own appends, fenced by its lease.
 */
export function createContext(shell: Shell, ex: Execution): StepContext {
  const user = (kind: string, data: unknown): Promise<void> => {
    ex.check()
    const seq = ++ex.seq
    ex.batch.push({ kind, data, seq })
    ex.pending = ex.pending.then(() => drain(shell, ex))
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
        const d = await orHandBack(ex, () => shell.states.read(ex.runId))
        return d && Object.hasOwn(d.state, key) ? (d.state[key] as T) : undefined
      },
      async set(key: string, value: unknown) {
        ex.check()
        if (typeof key !== 'string' || key === '')
          throw new LeanflowError('INVALID_ARGUMENT', 'ctx.state.set needs a non-empty string key.')
        const v = toJson(value, `state value of "${key}"`)
        await flushAndFence(shell, ex)
        await command(shell, ex, { type: 'setState', step: ex.step, lease: ex.lease, key, value: v })
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
      await command(shell, ex, { type: 'record', step: ex.step, lease: ex.lease, pos, rec: next })
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
          await reannounce(shell, ex, pos, rec)
          return (await suspendOn(shell, ex, pos)) as undefined
        }
        const absolute = at instanceof Date ? at.getTime() : undefined
        if (absolute !== undefined && !Number.isFinite(absolute))
          throw new LeanflowError('INVALID_ARGUMENT', 'await.time got an invalid Date.')
        const ms = absolute === undefined ? parseDuration(at as Duration, 'await.time duration') : 0
        const now = await orHandBack(ex, () => shell.clock.now())
        const r = timeAwait(absolute ?? now + ms, now, ex.attempt)
        await register(shell, ex, pos, r, r.state === 'pending')
        if (r.state === 'resolved') return
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
          if (rec.t !== 'event' || rec.kind !== kind) throw nonDeterminism(ex, pos, eventCall({ kind }), rec)
          await reannounce(shell, ex, pos, rec)
          return (await suspendOn(shell, ex, pos)) as ExternalEvent<D>
        }
        const match = opts.match === undefined ? undefined : (toJson(opts.match, 'await.event match') as Record<string, unknown>)
        const now = await orHandBack(ex, () => shell.clock.now())
        const timeoutAt = timeoutMs === undefined ? undefined : now + timeoutMs
        await orHandBack(ex, () => shell.store.watchKind(kind, ex.runId))
        await register(shell, ex, pos, eventAwait(kind, match, now, timeoutAt, ex.attempt), false)
        return (await suspendOn(shell, ex, pos)) as ExternalEvent<D>
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
        const handle = (id: string): TriggerHandle<T> => ({ id, wait: async () => (await suspendOn(shell, ex, pos)) as T })
        if (rec) {
          if (rec.t !== 'trigger' || rec.type !== type) throw nonDeterminism(ex, pos, triggerCall({ type }), rec)
          await reannounce(shell, ex, pos, rec)
          return handle(rec.id)
        }
        const payload = opts.payload === undefined ? undefined : toJson(opts.payload, 'await.trigger payload')
        const id = newId()
        const now = await orHandBack(ex, () => shell.clock.now())
        const timeoutAt = timeoutMs === undefined ? undefined : now + timeoutMs
        await orHandBack(ex, () => shell.store.putLookup('trigger', id, ex.runId, (timeoutMs ?? TRIGGER_TTL_MS) + TRIGGER_TTL_MS))
        await register(shell, ex, pos, triggerAwait(type, id, payload, now, timeoutAt, ex.attempt), false)
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
async function reannounce(shell: Shell, ex: Execution, pos: number, r: AwaitRec) {
  if (!ex.takeover || shell.seen.knows(ex.runId, keys.awaited(ex.step, pos))) return
  const out = announceOutputs({ runId: ex.runId, now: shell.clock.estimate(), flow: undefined }, ex.step, pos, r)
  await orHandBack(ex, () => carry(shell, ex.runId, { ...out, unwatch: [] }))
}

/** Waits for queued user appends; throws when the execution lost its lease or the run ended. */
export async function flushAndFence(shell: Shell, ex: Execution): Promise<void> {
  ex.pending = ex.pending.then(() => drain(shell, ex))
  await orHandBack(ex, () => ex.pending)
  ex.check()
}

/**
 * Appends the queued user events in call order, each fenced by the execution's lease: the store
 * refuses it atomically (nothing written) once the lease was taken over or the run ended.
 */
async function drain(shell: Shell, ex: Execution) {
  if (ex.batch.length === 0) return
  const items = ex.batch.splice(0)
  const fence = { key: ex.step, token: ex.lease }
  for (const it of items) {
    ex.check()
    try {
      const event = { kind: it.kind, flow: ex.runId, step: ex.step, data: it.data, meta: { attempt: ex.attempt } }
      await shell.store.append(ex.runId, event, { idempotencyKey: keys.user(ex.step, ex.attempt, it.seq), fence })
    } catch (err) {
      if (!isLeanflowError(err, 'NON_RETRIABLE')) throw err
      // fenced: tell a lost lease from an ended run (cancel, another step failed for good)
      const d = await shell.states.read(ex.runId).catch(() => null)
      throw ex.stop(d !== null && d.status === 'running' ? 'lease' : 'ended')
    }
  }
}

/** A command of the execution holding the step's lease; a refusal (run ended, lease lost) drops it. */
async function command(shell: Shell, ex: Execution, cmd: Extract<Command, { type: 'record' | 'setState' | 'announce' }>): Promise<void> {
  const { reply } = await orHandBack(ex, () => apply(shell, ex.runId, cmd))
  if (reply !== 'ok') throw ex.stop(reply as 'ended' | 'lease')
}

/** Registers the await `r` at call position `pos` (suspending the step on it at once when `suspend`) and announces it. */
async function register(shell: Shell, ex: Execution, pos: number, r: AwaitRec, suspend: boolean) {
  await flushAndFence(shell, ex)
  await command(shell, ex, { type: 'announce', step: ex.step, lease: ex.lease, pos, rec: r, suspend })
  ex.records[pos] = r
}

/** The value of the await at `pos`; suspends the step (never settles) while it is pending. */
async function suspendOn(shell: Shell, ex: Execution, pos: number): Promise<unknown> {
  ex.check()
  let r = ex.records[pos] as AwaitRec
  if (r.state === 'pending') {
    await flushAndFence(shell, ex)
    const { reply } = await orHandBack(ex, () => apply(shell, ex.runId, { type: 'suspend', step: ex.step, lease: ex.lease, pos }))
    if (reply === 'ended' || reply === 'lease' || reply === 'ok') throw ex.stop(reply === 'ok' ? 'lease' : reply)
    if (reply === 'suspended') {
      ex.stop('suspended')
      return never()
    }
    r = reply
    ex.records[pos] = r
  }
  if (r.state === 'timedOut') throw new AwaitTimeoutError(`await.${r.t} of step "${ex.step}" timed out at ${iso(r.timeoutAt ?? 0)}.`)
  if (r.state === 'canceled') throw ex.stop('ended')
  return awaitValue(r)
}

function nonDeterminism(ex: Execution, pos: number, call: string, rec: Rec): NonDeterminismError {
  return new NonDeterminismError(
    `Step "${ex.step}" of run ${ex.runId} made call #${pos + 1} ${call}, but the recorded call #${pos + 1} was ${callLabel(rec)}: keep the order of awaits and ctx.do calls stable (a changed handler needs a new run).`,
  )
}
