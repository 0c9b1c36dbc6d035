import { assertName, invalidArgument, isBuiltinKind, isLeanflowError, LeanflowError } from '@leanflow/core'
import { PATCHED } from '../machine/awaits/index.js'
import type { Command } from '../machine/index.js'
import type { Rec } from '../machine/runDoc.js'
import type { StepContext } from '../types.js'
import { apply } from './apply.js'
import { AwaitGate } from './awaitGate.js'
import { announceNow, createAwaits, nonDeterminism } from './ctxAwaits.js'
import { type Execution, orHandBack } from './execution.js'
import { externalKind } from './externalKind.js'
import { heldLock } from './heldLock.js'
import { assertNotInsideDo, runInsideDo } from './insideDo.js'
import { toJson } from './json.js'
import { publish } from './publish.js'
import type { Shell } from './shell.js'
import { assertFits } from './storable.js'
import { flushAndFence, queueUser } from './userEvents.js'

/**
 * A ctx call's promise, as the handler gets it: its rejection reaches whoever awaits it, and never
 * ends the worker's process when no one does (a call the handler did not await that fails once
 * the step went on without it: the process runs other steps too).
 */
function handled<T>(p: Promise<T>): Promise<T> {
  p.catch(() => {})
  return p
}

/** `ctx.do` names that are other calls' record names (`ctx.patched`'s, `ctx.publish`'s). */
const RESERVED_DO = new RegExp(`^(${PATCHED}|publish:)`)

/**
 * The `ctx` of one execution: replays the step's recorded calls (`ctx.do` results, publishes,
 * awaits, invokes) in call order and sends every new one to the machine as a command of the
 * execution holding the step's lease (`record`, `setState`, `announce`, `suspend`); `log`, `emit`
 * and `state.set` events are the execution's own appends, fenced by its lease. The step suspends
 * through the execution's gate (`awaitGate.ts`) once every awaited call waits.
 */
export function createContext(shell: Shell, ex: Execution): StepContext {
  ex.gate = new AwaitGate({
    suspend: (positions) => suspendOn(shell, ex, positions),
    fail: (err) => ex.stop('handback', err),
    gone: () => ex.gone !== undefined || ex.settled,
  })
  const log = (level: 'debug' | 'info' | 'warn' | 'error') => (msg: string, fields?: Record<string, unknown>) => {
    // dropped, or the handler already returned or threw: a log line is never recorded after its step went on
    if (ex.gone || ex.settled) return
    const data = fields === undefined ? { level, msg: String(msg) } : { level, msg: String(msg), fields: toJson(fields, 'log fields') }
    void queueUser(shell, ex, 'log', data).catch(() => {})
  }
  const { awaits, invoke } = createAwaits(shell, ex)
  ex.announceDeferred = (list) => announceNow(shell, ex, list)
  /** A recorded call at the next position: replayed when recorded (`name` must match), else `work` once and recorded. */
  const recorded = async <T>(name: string, label: string, work: () => Promise<T>): Promise<T> => {
    ex.checkOpen()
    assertNotInsideDo(ex, label)
    const pos = ex.cursor++
    const rec = ex.records[pos]
    if (rec) {
      if (rec.t !== 'do' || rec.name !== name) throw nonDeterminism(ex, pos, label, rec)
      return rec.value as T
    }
    // a call before it failed unrecorded: its effect would run and never be recorded (a retry would run it again)
    const refused = ex.unrecordable(pos)
    if (refused) throw refused
    return ex.gate.busy(async () => {
      let value: T
      try {
        // a worker that stalled (a long GC pause, a blocked event loop) may have lost the step to
        // another since it last knew its lease, and that one may have recorded this very call
        await freshLease(shell, ex)
        value = await work()
      } catch (err) {
        // nothing is recorded (a retry runs fn again): the calls after it cannot be recorded in
        // order, so they fail, not wait, and a ctx.do after it is refused before its effect runs
        ex.breakTurns(pos, err)
        throw err
      }
      ex.check()
      let stored: unknown
      try {
        stored = value === undefined ? undefined : toJson(value, `result of ${label}`)
      } catch (err) {
        // the effect ran and its result cannot be recorded (a BigInt, nesting too deep): a retry
        // would run the effect again, and fail again; the step fails for good instead
        // (also when the handler catches it and fails later: `unrecordedEffect` keeps the attempt from retrying)
        ex.unrecordedEffect ??= err
        ex.breakTurns(pos, err)
        throw Object.assign(err as Error, { retriable: false })
      }
      const next: Rec = stored === undefined ? { t: 'do', name } : { t: 'do', name, value: stored }
      await ex.inOrder(pos, async () => {
        const marks = ex.takeMarks(pos)
        await command(shell, ex, { type: 'record', step: ex.step, lease: ex.lease, pos, rec: next, marks })
        ex.placed(marks)
        ex.records[pos] = next
      })
      return stored as T
    })
  }
  const setState = async (key: string, value: unknown) => {
    ex.checkOpen()
    if (typeof key !== 'string' || key === '') throw new LeanflowError('INVALID_ARGUMENT', 'ctx.state.set needs a non-empty string key.')
    const v = toJson(value, `state value of "${key}"`)
    // before the document takes it: a value its state.set event cannot hold is refused here
    assertFits(shell, { key, value: v }, `state value of "${key}" (in its state.set)`, 1024)
    await ex.gate.busy(async () => {
      await flushAndFence(shell, ex)
      await command(shell, ex, { type: 'setState', step: ex.step, lease: ex.lease, key, value: v })
      await queueUser(shell, ex, 'state.set', { key, value: v })
    })
  }
  const emit = async (kind: string, data?: unknown) => {
    ex.checkOpen()
    assertName(kind, 'event kind')
    if (isBuiltinKind(kind))
      throw new LeanflowError(
        'INVALID_ARGUMENT',
        `ctx.emit("${kind}"): built-in kinds are the runner's; use a kind of your own, e.g. "order.shipped".`,
      )
    const d = toJson(data, `data of "${kind}"`)
    await ex.gate.busy(() => queueUser(shell, ex, kind, d))
  }
  const doCall = async <T>(name: string, fn: () => T | Promise<T>): Promise<T> => {
    if (typeof name !== 'string' || name === '') throw new LeanflowError('INVALID_ARGUMENT', 'ctx.do needs a name (a non-empty string).')
    const label = `ctx.do("${name}")`
    if (typeof fn !== 'function')
      throw invalidArgument(`${label} fn`, fn, `a function running the effect: ctx.do('${name}', () => charge())`)
    // the record names of ctx.patched and ctx.publish: a code change between them would replay
    // unseen. Refused when first recorded; a run that recorded one before replays as it was.
    if (RESERVED_DO.test(name) && !ex.records[ex.cursor])
      throw invalidArgument(
        'ctx.do name',
        name,
        'a name not starting with "patched:" or "publish:" (those are ctx.patched\'s and ctx.publish\'s records)',
      )
    return recorded(name, label, () => runInsideDo(ex, label, async () => fn()))
  }
  const publishCall = async (kind: string, data?: unknown): Promise<{ id: string }> => {
    const k = externalKind(kind, 'ctx.publish')
    const d = toJson(data, `data of event "${k}"`)
    // thrown at the call, as ctx.emit's is: inside the publish it would hand the job back instead
    assertFits(shell, d, `data of event "${k}" (ctx.publish)`, 0)
    const pos = ex.cursor
    // once per call position: the external event's idempotency key is the position's
    return recorded(`publish:${k}`, `ctx.publish("${k}")`, () =>
      orHandBack(ex, () => publish(shell, k, d, `p~${ex.runId}~${ex.step}~${pos}`, false)),
    )
  }
  return {
    runId: ex.runId,
    step: ex.step,
    attempt: ex.attempt,
    signal: ex.abort.signal,
    results: Object.freeze({ ...ex.results }),
    logger: { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') },
    state: {
      get<T>(key: string) {
        return handled(
          (async () => {
            ex.checkOpen()
            const d = await ex.gate.busy(() => orHandBack(ex, () => shell.states.read(ex.runId)))
            return d && Object.hasOwn(d.state, key) ? (d.state[key] as T) : undefined
          })(),
        )
      },
      set: (key: string, value: unknown) => handled(setState(key, value)),
    },
    emit: (kind: string, data?: unknown) => handled(emit(kind, data)),
    patched(id: string): boolean {
      ex.checkOpen()
      assertNotInsideDo(ex, 'ctx.patched')
      if (typeof id !== 'string' || id === '' || id.length > 200)
        throw invalidArgument('ctx.patched id', id, "a string of 1-200 characters, ctx.patched('fraud-check')")
      const pos = ex.cursor
      const rec = ex.records[pos]
      const name = `${PATCHED}${id}`
      if (rec) {
        // a history written before the patch has another record here: the old branch, nothing consumed
        if (rec.t !== 'do' || rec.name !== name) return false
        ex.cursor++
        return true
      }
      // a first execution of this position: the marker goes with the step's next record write
      ex.marks.set(pos, { t: 'do', name })
      ex.cursor++
      return true
    },
    do<T>(name: string, fn: () => T | Promise<T>): Promise<T> {
      return handled(doCall(name, fn))
    },
    publish(kind: string, data?: unknown): Promise<{ id: string }> {
      return handled(publishCall(kind, data))
    },
    await: awaits,
    invoke: invoke as StepContext['invoke'],
  }
}

/**
 * How long a `ctx.do`'s record is written again while the store cannot be reached, before the
 * execution is handed back: its effect ran, and a hand-back runs it again on the next delivery.
 * Within a BullMQ job's default lock (30 s), so no other worker takes the step meanwhile.
 */
export const RECORD_RETRY_MS = 15_000

/** A command of the execution holding the step's lease; a refusal (run ended, lease lost) drops it. */
async function command(shell: Shell, ex: Execution, cmd: Extract<Command, { type: 'record' | 'setState' | 'announce' }>): Promise<void> {
  let sent = 0
  const write = () => {
    sent = performance.now()
    return apply(shell, ex.runId, cmd)
  }
  const { reply } = await orHandBack(ex, cmd.type === 'record' ? () => untilReachable(shell, ex, write) : write)
  if (reply !== 'ok') throw ex.stop(reply as 'ended' | 'lease')
  ex.confirmed(sent)
}

/**
 * How long after the execution last knew its lease a `ctx.do` runs its function without asking
 * the store, ms: another worker takes a step over only once this one's queue lock lapsed (a
 * second at the least), and never while it answers.
 */
export const LEASE_FRESH_MS = 250

/**
 * Before a `ctx.do` function runs: when the execution has not known its lease for
 * {@link LEASE_FRESH_MS}, reads the run, and drops the execution (the call throws, its function
 * never runs) when the step is no longer its own: taken over, ended, or the run over. An answer
 * that came back later than that (the worker stalled while it waited) is asked again; a store
 * that cannot be reached is waited out as a record's write is, then the step goes back to the
 * queue, its function not run.
 */
async function freshLease(shell: Shell, ex: Execution): Promise<void> {
  ex.check()
  // known nothing for the queue's whole lock, now or at any time before (a frozen Redis, a blocked
  // event loop, then a poll's answer): the lock may have lapsed, and another worker take the step
  // over any moment, this call not recorded yet
  // (a queue that renews its lock on demand is asked instead, last: heldLock)
  const lapsed = () => ex.jobLock === undefined && ex.lapsedMs !== undefined
  if (lapsed()) throw ex.stop('handback', lockLapsed(ex, ex.lapsedMs ?? 0))
  for (let asked = 0; performance.now() - ex.confirmedAt > LEASE_FRESH_MS && asked < MAX_LEASE_READS; asked++) {
    const sent = performance.now()
    const d = await orHandBack(ex, () => untilReachable(shell, ex, () => shell.states.read(ex.runId)))
    ex.check()
    const lost = ex.lost(d)
    if (lost) throw ex.stop(lost)
    ex.confirmed(sent)
    if (lapsed()) throw ex.stop('handback', lockLapsed(ex, ex.lapsedMs ?? 0))
  }
  await heldLock(ex)
}

/** Why a `ctx.do` did not run its function: the step goes back to the queue (no attempt spent). */
function lockLapsed(ex: Execution, blind: number): LeanflowError {
  return new LeanflowError(
    'STORE_UNAVAILABLE',
    `Step "${ex.step}" of run "${ex.runId}" knew nothing of its lease for ${Math.round(blind)} ms, longer than half its queue lock (${ex.lockMs} ms, renewed every half lock or so): another worker may be taking it over, so its ctx.do did not run its function, and the step goes back to the queue. A frozen or unreachable Redis, or an event loop blocked that long, does this.`,
  )
}

/** The most lease reads before a `ctx.do`: a store slower than {@link LEASE_FRESH_MS} each time is slow, and the lease is this execution's. */
const MAX_LEASE_READS = 5

/**
 * `work` (a `ctx.do`'s record), tried again while the store is unavailable (a restart, a failover,
 * a blip longer than its command timeout), up to {@link RECORD_RETRY_MS}; not once the execution
 * ended or the runner stops. A write whose reply was lost and that landed is found written
 * (the machine's `record` is idempotent for the lease that wrote it).
 */
async function untilReachable<T>(shell: Shell, ex: Execution, work: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + RECORD_RETRY_MS
  for (let pause = 100; ; pause = Math.min(pause * 2, 1000)) {
    try {
      return await work()
    } catch (err) {
      if (!isLeanflowError(err, 'STORE_UNAVAILABLE') || ex.gone !== undefined || shell.stopping || Date.now() + pause > deadline) throw err
      await new Promise((r) => setTimeout(r, pause))
    }
  }
}

/** Suspends the step on the pending awaits at `positions` (the gate's call): `suspended`, or those no longer pending. */
async function suspendOn(shell: Shell, ex: Execution, positions: number[]) {
  ex.check()
  // a write of deferred awaits in flight (a later call's turn asked for it) lands first
  await ex.writesDone()
  ex.check()
  await flushAndFence(shell, ex)
  // the awaits not written yet are recorded and announced by this same write; one made before a
  // ctx.do that then failed (a Promise.allSettled the handler went on from) cannot be: the attempt fails
  for (const pos of [...ex.deferred.keys()]) {
    const refused = ex.unrecordable(pos)
    if (refused) throw refused
  }
  const announce = ex.takeDeferred()
  // the ctx.patched markers before the last await it records ride with it
  const last = announce.at(-1)
  const marks = last === undefined ? [] : ex.takeMarks(last.pos)
  const cmd = { type: 'suspend', step: ex.step, lease: ex.lease, positions, announce, marks } as const
  // the positions of the children it starts go out with it (one round trip)
  shell.childBases.ask()
  const { reply } = await orHandBack(ex, () => apply(shell, ex.runId, cmd))
  if (reply === 'ended' || reply === 'lease' || reply === 'ok') throw ex.stop(reply === 'ok' ? 'lease' : reply)
  ex.placed(marks)
  for (const { pos, rec } of announce) ex.records[pos] = rec
  if (reply === 'suspended') {
    ex.park()
    ex.stop('suspended')
    return 'suspended' as const
  }
  return reply
}

export { flushAndFence } from './userEvents.js'
