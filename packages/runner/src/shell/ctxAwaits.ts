import {
  AwaitTimeoutError,
  assertFlowName,
  assertKnownKeys,
  ChildRunError,
  type Duration,
  type ExternalEvent,
  invalidArgument,
  LeanflowError,
  NonDeterminismError,
  optionsObject,
  parseDuration,
} from '@leanflow/core'
import { resumedAppend } from '../machine/awaits/announcement.js'
import { eventAwait, eventCall } from '../machine/awaits/event.js'
import { announceOutputs, awaitValue, callLabel } from '../machine/awaits/index.js'
import { runAwait, runCall } from '../machine/awaits/run.js'
import { timeAwait } from '../machine/awaits/time.js'
import { triggerAwait, triggerCall } from '../machine/awaits/trigger.js'
import { keys } from '../machine/keys.js'
import { iso } from '../machine/outputs.js'
import type { AwaitRec, Rec } from '../machine/runDoc.js'
import { validateInput } from '../standardSchema.js'
import type { AwaitEventOptions, AwaitTriggerOptions, FlowDefinition, InvokeOptions, StepAwaits, TriggerHandle } from '../types.js'
import { apply, carry } from './apply.js'
import { type Execution, orHandBack } from './execution.js'
import { externalKind } from './externalKind.js'
import { assertNotInsideDo } from './insideDo.js'
import { assertNoFunctions, toJson } from './json.js'
import { newId } from './newId.js'
import { type Shell, versionOf } from './shell.js'
import { assertFits } from './storable.js'
import { unknownFlow } from './unknownFlow.js'
import { flushAndFence } from './userEvents.js'

/** The fields of a published event's record, the first segment of every `match` path. */
const EVENT_FIELDS = new Set(['id', 'ts', 'kind', 'data'])

const TRIGGER_TTL_MS = 400 * 24 * 3600_000

/**
 * The awaits of a step's `ctx`: `ctx.await.time` / `event` / `trigger` and `ctx.invoke`. Each new
 * call is registered at its call position (in position order, whatever order their writes finish
 * in), and the handler waits on it through the execution's gate, which suspends the step once
 * nothing else can progress — so several awaits may be pending at once (`Promise.all`,
 * `Promise.race`). A replayed call returns its recorded outcome, in the order the outcomes came.
 */
export function createAwaits(shell: Shell, ex: Execution): { awaits: StepAwaits; invoke: InvokeFn } {
  const awaits: StepAwaits = {
    async time(at: Duration | Date) {
      ex.checkOpen()
      assertNotInsideDo(ex, 'ctx.await.time')
      const absolute = at instanceof Date ? at.getTime() : undefined
      if (absolute !== undefined && !Number.isFinite(absolute))
        throw new LeanflowError('INVALID_ARGUMENT', 'await.time got an invalid Date.')
      const ms = absolute === undefined ? parseDuration(at as Duration, 'await.time duration') : 0
      const pos = ex.cursor++
      const rec = ex.records[pos]
      if (rec) {
        if (rec.t !== 'time') throw nonDeterminism(ex, pos, 'await.time', rec)
        await reannounce(shell, ex, pos, rec)
        return (await waitOn(shell, ex, pos, rec)) as undefined
      }
      capPending(shell, ex, pos)
      const r = await ex.gate.busy(async () => {
        const now = await orHandBack(ex, () => shell.clock.now())
        return defer(ex, pos, timeAwait(absolute ?? now + ms, now, ex.attempt))
      })
      return (await waitOn(shell, ex, pos, r, true)) as undefined
    },
    async event<D>(opts: AwaitEventOptions): Promise<ExternalEvent<D>> {
      ex.checkOpen()
      assertNotInsideDo(ex, 'ctx.await.event')
      assertNoFunctions(opts, 'await.event options')
      const kind = externalKind(opts?.kind, 'ctx.await.event')
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
        return (await waitOn(shell, ex, pos, rec)) as ExternalEvent<D>
      }
      // checked when first recorded (a replay runs as it was): a misspelt option would be ignored
      assertKnownKeys(opts, ['kind', 'match', 'timeout'], 'ctx.await.event')
      // JSON would drop the path, and the await would match any event of the kind
      for (const [path, value] of Object.entries(opts.match ?? {})) {
        // an event record has these fields only: another first segment (`orderId` for `data.orderId`) never matches
        if (!EVENT_FIELDS.has(path.split('.')[0] as string))
          throw invalidArgument(
            'await.event match path',
            path,
            `a dotted path into the event record, whose fields are id, ts, kind and data (\`data.${path}\`?): as written it would never match`,
          )
        if (value === undefined)
          throw invalidArgument(
            `await.event match value of "${path}"`,
            value,
            'the value to match (a field of the input that is not set?), or leave the path out',
          )
        // JSON would drop a symbol (the await would take any event of the kind), and turn NaN or
        // Infinity into null and a Map or a Set into {} (it would wait for other events than meant)
        const lost = lostInJson(value)
        if (lost !== undefined)
          throw invalidArgument(
            `await.event match value of "${path}"`,
            lost,
            'a JSON value (a string, a finite number, a boolean, null, an array or a plain object), as the event data holds it',
          )
      }
      const match = opts.match === undefined ? undefined : (toJson(opts.match, 'await.event match') as Record<string, unknown>)
      if (match !== undefined) assertFits(shell, match, 'await.event match (in its step.await.event)')
      capPending(shell, ex, pos)
      const r = await ex.gate.busy(async () => {
        const now = await orHandBack(ex, () => shell.clock.now())
        const timeoutAt = timeoutMs === undefined ? undefined : now + timeoutMs
        // the run watches the kind from the write that records the await on (its catch-up match)
        return defer(ex, pos, eventAwait(kind, match, now, timeoutAt, ex.attempt))
      })
      return (await waitOn(shell, ex, pos, r, true)) as ExternalEvent<D>
    },
    async trigger<T>(opts: AwaitTriggerOptions): Promise<TriggerHandle<T>> {
      ex.checkOpen()
      assertNotInsideDo(ex, 'ctx.await.trigger')
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
      const handle = (id: string): TriggerHandle<T> => ({
        id,
        wait: async () => (await waitOn(shell, ex, pos, ex.records[pos] as AwaitRec)) as T,
      })
      if (rec) {
        if (rec.t !== 'trigger' || rec.type !== type) throw nonDeterminism(ex, pos, triggerCall({ type }), rec)
        await reannounce(shell, ex, pos, rec)
        return handle(rec.id)
      }
      assertKnownKeys(opts, ['type', 'payload', 'timeout'], 'ctx.await.trigger')
      const payload = opts.payload === undefined ? undefined : toJson(opts.payload, 'await.trigger payload')
      if (payload !== undefined) assertFits(shell, payload, 'await.trigger payload (in its step.await.trigger)')
      const id = newId()
      // counted when the handler waits on it (wait())
      capPending(shell, ex, pos, false)
      await ex.gate.busy(async () => {
        // before its lookup is written: a trigger refused at its call leaves no key behind
        refuseUnrecordable(ex, pos)
        const now = await orHandBack(ex, () => shell.clock.now())
        const timeoutAt = timeoutMs === undefined ? undefined : now + timeoutMs
        await orHandBack(ex, () => shell.store.putLookup('trigger', id, ex.runId, (timeoutMs ?? TRIGGER_TTL_MS) + TRIGGER_TTL_MS))
        await register(ex, pos, triggerAwait(type, id, payload, now, timeoutAt, ex.attempt))
      })
      return handle(id)
    },
  }

  const invoke: InvokeFn = async (target, input, options) => {
    ex.checkOpen()
    assertNotInsideDo(ex, 'ctx.invoke')
    const opts = optionsObject(options, 'ctx.invoke options', '{ timeout? }')
    const name = typeof target === 'string' ? target : (target as FlowDefinition | undefined)?.name
    if (typeof name !== 'string') throw invalidArgument('ctx.invoke flow', target, 'a flow (a defineFlow result) or its name')
    const flow = shell.flows.get(name)
    if (!flow) {
      assertFlowName(name) // a name no flow can have is INVALID_NAME
      throw unknownFlow(
        name,
        shell.flows.keys(),
        'ctx.invoke starts flows the runner holds: check the name, or add it to createRunner({ flows })',
      )
    }
    const folds = flow.debounce !== undefined ? 'debounce' : flow.singleton !== undefined ? 'singleton' : undefined
    if (folds !== undefined || flow.rateLimit?.mode === 'drop') {
      throw new LeanflowError(
        'INVALID_ARGUMENT',
        `ctx.invoke: flow "${flow.name}" has ${folds ?? "a rateLimit in mode 'drop'"}, which may ${folds ? 'fold a start into another run' : 'refuse a start'}: start it with runner.startFlow and await an event instead (or use rateLimit mode 'queue').`,
      )
    }
    assertNoFunctions(opts, 'invoke options')
    const timeoutMs = opts.timeout === undefined ? undefined : parseDuration(opts.timeout, 'invoke timeout')
    const pos = ex.cursor++
    const rec = ex.records[pos]
    if (rec) {
      if (rec.t !== 'run' || rec.flow !== flow.name) throw nonDeterminism(ex, pos, runCall({ flow: flow.name }), rec)
      // a take-over announces again, which starts the child again if it never was (a no-op when it exists)
      await reannounce(shell, ex, pos, rec)
      return waitOn(shell, ex, pos, rec)
    }
    assertKnownKeys(opts, ['timeout'], 'ctx.invoke')
    capPending(shell, ex, pos)
    let data: unknown
    try {
      // checked before anything is recorded: a bad input is the handler's error, as startFlow's would be
      data = toJson(flow.input ? await validateInput(flow.name, flow.input, input) : input, 'invoke input')
      // the child's flow.started carries it with the child's step graph
      assertFits(shell, data, `invoke input (in the flow.started of a "${flow.name}" run)`, 4096 + JSON.stringify(flow.steps).length)
    } catch (err) {
      ex.breakTurns(pos, err)
      throw err
    }
    const r = await ex.gate.busy(async () => {
      // the store's clock (a fresh estimate, else asked), the child's time too; its external-event
      // position is asked with the write that records the await (childBases): its start reads neither
      const now = await orHandBack(ex, async () => shell.clock.recent())
      const timeoutAt = timeoutMs === undefined ? undefined : now + timeoutMs
      const childRunId = newId()
      shell.childBases.note(childRunId, now)
      // the await is written first, then the child is started (an output of that write): the child's end always finds the await
      return defer(ex, pos, runAwait(flow.name, childRunId, data, now, timeoutAt, ex.attempt, versionOf(flow)))
    })
    return waitOn(shell, ex, pos, r, true)
  }

  return { awaits, invoke }
}

/** `ctx.invoke`: runs a flow as a child of this step and returns its result (see `StepContext.invoke`). */
export type InvokeFn = (flow: FlowDefinition | string, input?: unknown, opts?: InvokeOptions) => Promise<unknown>

/** At most `maxPendingAwaits` awaits pending at once in one step (the call at `pos` is refused, and the calls after it). */
function capPending(shell: Shell, ex: Execution, pos: number, count = true): void {
  if (ex.gate.pending < shell.maxPendingAwaits) {
    if (count) ex.gate.opened()
    return
  }
  // not retriable: a retry would make the same calls and be refused again
  const err = Object.assign(
    new LeanflowError(
      'INVALID_ARGUMENT',
      `Step "${ex.step}" has ${ex.gate.pending} awaits pending at once, the limit (maxPendingAwaits ${shell.maxPendingAwaits}): await fewer at once (batch the fan-out) or raise maxPendingAwaits.`,
    ),
    { retriable: false },
  )
  ex.breakTurns(pos, err)
  throw err
}

/** Registers the await `r` at call position `pos` without writing it yet (see `Execution.deferred`). */
function defer(ex: Execution, pos: number, r: AwaitRec): AwaitRec {
  refuseUnrecordable(ex, pos)
  ex.defer(pos, r)
  return r
}

/**
 * Throws at the await call when a call before it failed unrecorded (a caught `ctx.do` failure):
 * its record could never be written in order, and the suspend that wrote it would be refused as
 * if the lease were lost, leaving the step running for ever. The attempt fails instead.
 */
function refuseUnrecordable(ex: Execution, pos: number): void {
  const refused = ex.unrecordable(pos)
  if (refused) throw refused
}

/**
 * Registers the await `r` at call position `pos` now (a trigger: its id is handed out at once),
 * after every earlier position's write (calls may finish their work in any order; the step's
 * records are written in call order), and announces it. The awaits registered in the same tick
 * (a `Promise.all` of triggers) go in one write.
 */
async function register(ex: Execution, pos: number, r: AwaitRec): Promise<void> {
  refuseUnrecordable(ex, pos)
  ex.defer(pos, r)
  // the calls made together finish their own work (the trigger's lookup) at about the same time
  await new Promise((go) => setImmediate(go))
  await ex.inOrder(pos, () => ex.writeDeferred())
}

/**
 * Writes and announces the awaits of `list` (at the next positions, in order, past unwritten
 * `ctx.patched` markers) in one compare-and-set.
 */
export async function announceNow(shell: Shell, ex: Execution, list: Array<{ pos: number; rec: AwaitRec }>): Promise<void> {
  const [first, ...more] = list
  if (!first) return
  await flushAndFence(shell, ex)
  const marks = ex.takeMarks((list.at(-1) as { pos: number }).pos)
  const cmd = { type: 'announce', step: ex.step, lease: ex.lease, pos: first.pos, rec: first.rec, suspend: false, marks, more } as const
  // a child's position goes out with the write that records its await
  shell.childBases.ask()
  const { reply } = await orHandBack(ex, () => apply(shell, ex.runId, cmd))
  if (reply !== 'ok') throw ex.stop(reply as 'ended' | 'lease')
  ex.placed(marks)
  for (const { pos, rec } of list) ex.records[pos] = rec
}

/** The handler's wait on the await at `pos`: its value once settled (the gate suspends the step meanwhile). */
function waitOn(shell: Shell, ex: Execution, pos: number, rec: AwaitRec, counted = false): Promise<unknown> {
  ex.check()
  if (!counted) ex.gate.opened()
  return new Promise((resolve, reject) => {
    ex.gate.wait(pos, rec, (r) => {
      // a written await takes its settled record; a deferred one is written as it is later
      if (ex.deferred.has(pos)) ex.deferred.set(pos, r)
      else ex.records[pos] = r
      try {
        resolve(settledValue(shell, ex, r))
      } catch (err) {
        reject(err)
      }
    })
  })
}

/** What a settled await gives the handler: its value, or the error it ends in. */
function settledValue(_shell: Shell, ex: Execution, r: AwaitRec): unknown {
  if (r.state === 'timedOut')
    throw new AwaitTimeoutError(`${r.t === 'run' ? 'invoke' : `await.${r.t}`} of step "${ex.step}" timed out at ${iso(r.timeoutAt ?? 0)}.`)
  if (r.state === 'canceled') throw ex.stop('ended')
  if (r.t === 'run') {
    const o = r.outcome
    if (o?.status === 'completed') return o.result
    throw new ChildRunError(r.childRunId, r.flow, o?.status === 'canceled' ? 'canceled' : 'failed', o?.error)
  }
  return awaitValue(r)
}

/**
 * A replayed await of an execution that took a running step over: announces it again
 * (`step.await.*` and its timer or timeout job, both idempotent), since the announcement of the
 * execution that was cut off may be missing (a pending event await is matched again too: the
 * catch-up that watches its kind went with it); and, when it resolved, its `step.resumed` (likewise
 * idempotent): an await that resolved while the step ran gets that event from the execution's own
 * suspend, which the execution cut off may not have carried out, and a replay hands the recorded
 * outcome over without one. Skipped for what this process saw stored.
 */
async function reannounce(shell: Shell, ex: Execution, pos: number, r: AwaitRec) {
  if (!ex.takeover) return
  const announced = shell.seen.knows(ex.runId, keys.awaited(ex.step, pos))
  const resumed = r.state !== 'resolved' || shell.seen.knows(ex.runId, keys.resumed(ex.step, pos))
  if (announced && resumed) return
  const out = announced
    ? { appends: [], jobs: [] }
    : announceOutputs({ runId: ex.runId, now: shell.clock.estimate(), flow: undefined }, ex.step, pos, r)
  const appends = resumed ? out.appends : [...out.appends, [resumedAppend(ex.step, ex.attempt, pos, r)]]
  // an event await's catch-up match (which watches its kind) may be missing with its announcement
  const matchEvents = !announced && r.t === 'event' && r.state === 'pending'
  await ex.gate.busy(() => orHandBack(ex, () => carry(shell, ex.runId, { ...out, appends, unwatch: [], matchEvents })))
}

export function nonDeterminism(ex: Execution, pos: number, call: string, rec: Rec): NonDeterminismError {
  return new NonDeterminismError(
    `Step "${ex.step}" of run ${ex.runId} made call ${call} at position ${pos} (its events' data.position), but the call recorded there was ${callLabel(rec)}: keep the order of awaits and ctx.do calls stable: deploy a changed handler as a new flow version, or behind ctx.patched (docs/versioning-and-reruns.md).`,
  )
}

/**
 * What of `value` JSON would drop or change (a symbol, a function, NaN, Infinity, a Map, a Set;
 * `undefined` inside an array or an object: `[undefined]` would match `[null]`, `{ a: undefined }`
 * would match `{}`), also inside arrays and objects, or undefined.
 */
function lostInJson(value: unknown, depth = 0): unknown {
  if (value === undefined) return depth > 0 ? 'undefined inside an array or an object' : undefined
  if (typeof value === 'function') return 'a function'
  if (typeof value === 'symbol' || (typeof value === 'number' && !Number.isFinite(value))) return value
  if (value instanceof Map || value instanceof Set) return `a ${value.constructor.name}`
  // deeper than JSON would go without a cycle error (toJson refuses those)
  if (typeof value !== 'object' || value === null || depth > 64) return undefined
  for (const v of Array.isArray(value) ? value : Object.values(value)) {
    const lost = lostInJson(v, depth + 1)
    if (lost !== undefined) return lost
  }
  // a symbol key is dropped too
  return Object.getOwnPropertySymbols(value).length > 0 ? 'an object with a symbol key' : undefined
}
