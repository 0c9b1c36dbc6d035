import { createHash } from 'node:crypto'
import {
  assertFlowName,
  assertKnownKeys,
  assertName,
  type EventMeta,
  invalidArgument,
  isIdempotencyKey,
  LeanflowError,
  optionsObject,
  positiveInteger,
  TriggerConflictError,
  TriggerNotFoundError,
} from '@leanflow/core'
import { checkedFlows } from './checkedFlows.js'
import { type CreateRun, keyAnswer, startLimited } from './flowControl/admission.js'
import { assertStepKeys } from './flowControl/control.js'
import { controlsStarts } from './flowControl/limits.js'
import { limitsInUse } from './flowControl/limitsInUse.js'
import type { RunOrigin } from './machine/index.js'
import type { FlowGraph } from './machine/runDoc.js'
import { createMemoryQueue, isMemoryQueue, isServed } from './memoryQueue.js'
import { checkedObserver } from './observer.js'
import { type PreparedRerun, prepareOrRepeat } from './rerun.js'
import { assertQueue, functionOption, priorityOf, RUNNER_KEYS, timerMs, workerIdOf } from './runnerOptions.js'
import { createSchedules } from './schedules/schedules.js'
import { apply } from './shell/apply.js'
import { queueCancelFinish } from './shell/cancelFinish.js'
import { createRun, runIdTaken } from './shell/createRun.js'
import { externalKind } from './shell/externalKind.js'
import { idempotencyKeyOf } from './shell/idempotencyKey.js'
import { failuresTo } from './shell/jobs.js'
import { toJson } from './shell/json.js'
import { createLifecycle } from './shell/lifecycle.js'
import { newId } from './shell/newId.js'
import { OBSERVER_SETTLE_MS } from './shell/observers.js'
import { publish } from './shell/publish.js'
import { resultOf } from './shell/result.js'
import { earlyBasis } from './shell/runBasis.js'
import { createShell, versionOf } from './shell/shell.js'
import { assertFits, storableError } from './shell/storable.js'
import { queueResolveFinish, type TriggerAsk } from './shell/triggers.js'
import { unknownFlow } from './shell/unknownFlow.js'
import { unservedHint } from './shell/unservedHint.js'
import { validateInput } from './standardSchema.js'
import type { RerunOptions, StartedRun, StartFlowOptions } from './startTypes.js'
import { traceparentOf } from './traceparent.js'
import type { FlowDefinition, Runner, RunnerOptions } from './types.js'

/**
 * The longest a `startFlow` idempotency key maps to a run that has not ended (a start cut off
 * before its run was written leaves no key for good); once the run ends, the key expires with it.
 */
const START_KEY_TTL_MS = 30 * 24 * 3600_000
/** What `startFlow` options may hold (anything else is a misspelt option, refused). */
const START_KEYS = ['runId', 'idempotencyKey', 'priority', 'version', 'traceparent']
/** The shortest `slotLeaseMs`: its renewals (every third of it) must land before it lapses. */
const MIN_SLOT_LEASE_MS = 1000

const CONFLICT_WORD = { resolved: 'resolved', timedOut: 'timed out', canceled: 'canceled' } as const

/**
 * Executes flows on a store that implements both ports (`createMemoryStreamStore()`
 * or `createRedisStreamStore()`). `startFlow`, `publishEvent`, `resolveTrigger`
 * and `cancel` work without `start()` (a process that only produces);
 * `start()` begins executing steps from the queue, `stop()` drains.
 *
 * @example
 * ```ts
 * const store = createMemoryStreamStore()
 * const runner = createRunner({ store, flows: [order] })
 * await runner.start()
 * const { runId } = await runner.startFlow('order', { orderId: 'o-1' })
 * ```
 */
export function createRunner(options: RunnerOptions): Runner {
  // no options (or null) is refused below for want of a store, by the same message
  const { store } = options ?? ({} as Partial<RunnerOptions>)
  if (typeof options === 'object' && options !== null) assertKnownKeys(options, RUNNER_KEYS, 'createRunner')
  if (!store || typeof store.casRunState !== 'function' || typeof store.append !== 'function') {
    throw new LeanflowError(
      'INVALID_ARGUMENT',
      'createRunner needs a store with both ports (StreamStore and RunStateStore): pass createMemoryStreamStore() or createRedisStreamStore().',
    )
  }
  const flows = checkedFlows(options.flows)
  assertQueue(options.queue)
  const onError = functionOption(options.onError, 'onError') ?? ((err: unknown) => console.error('[leanflow runner]', err))
  const ownQueue = options.queue === undefined
  // the default queue reports each failed delivery to onError, hand-backs left out (failuresTo)
  const queue = options.queue ?? createMemoryQueue({ onError: failuresTo(onError) })
  const inProcess = isMemoryQueue(queue)
  // renewed every third of it: a lease of some ms lapses before its renewal lands, and the limit with it
  const slotLeaseMs = timerMs(options.slotLeaseMs ?? 30_000, 'slotLeaseMs', MIN_SLOT_LEASE_MS, ' (the slot is renewed every third of it)')
  const shell = createShell(
    store,
    queue,
    flows,
    onError,
    functionOption(options.clock, 'clock') ?? Date.now,
    workerIdOf(options.workerId),
    slotLeaseMs,
  )
  shell.maxPendingAwaits = positiveInteger(options.maxPendingAwaits ?? 1000, 'maxPendingAwaits')
  // on the version whose schema checked the input at the invoke (so not checked again: its output may not pass it)
  shell.startChild = (flow, input, opts) =>
    start(
      flow,
      input,
      { runId: opts.runId, version: opts.version },
      { parent: opts.parent },
      undefined,
      opts.since,
      opts.version !== undefined,
    )
  // a start no worker of this process will take is said once (a forgotten runner.start())
  const hint = unservedHint(() => isServed(queue), onError)
  const concurrency = positiveInteger(options.concurrency ?? 10, 'runner concurrency')
  const cancelPollMs = timerMs(options.cancelPollMs ?? 1000, 'cancelPollMs')
  const drainTimeoutMs = timerMs(options.drainTimeoutMs ?? 30_000, 'drainTimeoutMs')
  /** `runner.startFlow`: the flow by its name (its highest version held), or by its object (its version). */
  async function startFlow(flow: string | FlowDefinition, input?: unknown, opts: StartFlowOptions = {}): Promise<StartedRun> {
    assertKnownKeys(optionsObject(opts, 'startFlow options', '{ runId?, idempotencyKey?, priority?, version? }'), START_KEYS, 'startFlow')
    const started =
      typeof flow === 'object' && flow !== null
        ? await start(flow.name, input, { ...opts, version: opts.version ?? versionOf(flow) })
        : await start(flow, input, opts)
    if (inProcess) hint.started(started.runId, typeof flow === 'string' ? flow : flow.name)
    return started
  }

  /** The flow version a start runs: `version` when given (held), else the highest held. */
  function flowToStart(name: string, version: unknown): FlowDefinition {
    const flow = shell.flows.get(name)
    if (!flow) {
      // a name no flow can have (`a:b`, `5`) is INVALID_NAME, as over HTTP: no registration would find it
      assertFlowName(name)
      throw unknownFlow(name, shell.flows.keys())
    }
    if (version === undefined) return flow
    if (!Number.isSafeInteger(version) || (version as number) < 1)
      throw invalidArgument('startFlow version', version, 'a positive integer: 1, 2, 3, …')
    const pinned = shell.versions.get(name)?.get(version as number)
    if (!pinned) {
      const held = [...(shell.versions.get(name)?.keys() ?? [])].sort((a, b) => a - b).join(', ')
      throw new LeanflowError(
        'FLOW_NOT_FOUND',
        `Flow "${name}" version ${version} is not registered with this runner (it holds version ${held}): add it to createRunner({ flows }) or start another version.`,
      )
    }
    return pinned
  }

  /** `startFlow`, a schedule's tick (`schedule`: written as `flow.started.data.schedule`), a child's start (`since`: when its await was recorded; `inputChecked`: by its version's schema at the invoke), a rerun (`prepared`). */
  async function start(
    name: string,
    input: unknown,
    opts: StartFlowOptions,
    origin: RunOrigin = {},
    prepared?: PreparedRerun,
    since?: number,
    inputChecked = false,
  ): Promise<StartedRun> {
    const def = prepared ? undefined : flowToStart(name, opts.version)
    const flow: FlowGraph = prepared?.flow ?? (def as FlowDefinition)
    // a child's input was checked (and transformed) by its schema when its invoke was recorded: that
    // output, checked again, may fail (`undefined` stored as null, a transform's output)
    const checked = prepared !== undefined || inputChecked
    const data = prepared
      ? prepared.input
      : toJson(def?.input && !checked ? await validateInput(name, def.input, input) : input, 'flow input')
    // a step's limit key is the run input's too: one that cannot name it refuses the start, nothing written
    assertStepKeys(name, shell.controls.get(name), data)
    let runId = opts.runId === undefined ? newId() : assertName(opts.runId, 'run id')
    // a rerun's key has lookups of its own (`rerunLookup`): no startFlow key names its run
    const key = prepared ? prepared.lookup : idempotencyKeyOf(opts.idempotencyKey, 'startFlow')
    // a caller's run id of another flow's run is refused before its key or a limit's slot is written
    const existed = opts.runId !== undefined && !origin.parent && (await assertRunOf(runId, name))
    const lookup = prepared?.lookup ?? `${name}/${key}`
    // the run keeps its key's name: the key expires with the run (retireLookup as it ends)
    const from: RunOrigin = key === undefined ? origin : { ...origin, startKey: lookup }
    const priority = priorityOf(opts.priority)
    const traceparent = traceparentOf(opts.traceparent)
    const meta = shell.observers.active || traceparent ? await startMeta(name, runId, origin, traceparent) : undefined
    if (controlsStarts(shell.controls.get(name))) {
      // the key is written only once flow control took the start (a refused start writes nothing)
      const known = key === undefined ? null : await store.getLookup('start', lookup)
      if (known !== null) {
        runId = known
        // a repeat of a key is the first answer, whatever the limits say now: the run the key
        // started, or the one a singleton or a debounce window deduplicated it to
        const doc = await shell.states.read(known)
        if (doc?.flow === name) return keyAnswer(known, doc, lookup)
      }
      const claim = key === undefined ? async (id: string) => id : (id: string) => store.putLookup('start', lookup, id, START_KEY_TTL_MS)
      const dedupTo = async (holder: string): Promise<StartedRun> => {
        if (key === undefined) return { runId: holder, deduplicated: true }
        const id = await claim(holder)
        const answer = keyAnswer(id, await shell.states.read(id), lookup)
        // a key that names another start's run (a singleton's, a debounce window's) is kept as
        // long as the store keeps an ended run, not 30 days: nothing retires it when that run ends
        if (answer.deduplicated) await store.retireLookup?.('start', lookup)
        return answer
      }
      // a call's flow.debounced is stored once, however often the call is repeated with its key
      const foldKey = key === undefined ? undefined : `fd~k~${createHash('sha256').update(key).digest('base64url')}`
      // the store's clock and position, asked while the limits decide (one round trip for both)
      const basis = earlyBasis(shell)
      const create: CreateRun = (id, waiting, at) =>
        createRun(shell, inProcess, flow, id, data, from, { waiting, at, priority }, meta, basis.get())
      return startLimited(shell, name, runId, data, priority, { create, cancel, claim, dedupTo, foldKey, prepare: basis.ask })
    }
    const id = runId
    if (key !== undefined) runId = await store.putLookup('start', lookup, runId, START_KEY_TTL_MS)
    // a child's time and external-event position, noted by its invoke (asked with the write that recorded it)
    const known = origin.parent ? shell.childBases.take(runId) : undefined
    // a repeat of a key, or a caller's run id of a run that exists: the run is likely written already
    await createRun(shell, inProcess, flow, runId, data, from, undefined, meta, known, existed || runId !== id, since)
    return { runId }
  }

  /** Refuses (`INVALID_ARGUMENT`) run id `runId` when it names a run of a flow other than `flow`; true when it names one of `flow`. */
  async function assertRunOf(runId: string, flow: string): Promise<boolean> {
    const doc = await shell.states.read(runId)
    if (doc && doc.flow !== flow) throw runIdTaken(runId, doc.flow)
    return doc !== null
  }

  /** A new run's `flow.started.meta`: the observers' (`runner.observe`), then the `traceparent` option. */
  async function startMeta(flow: string, runId: string, origin: RunOrigin, traceparent: string | undefined) {
    let meta: EventMeta | undefined
    if (shell.observers.active) {
      const p = origin.parent
      if (p) {
        // the invoking step's attempt and its run's flow.started (a child's span hangs under the step's)
        const [doc, started] = await Promise.all([shell.states.read(p.runId), shell.observers.started(p.runId)])
        const attempt = doc?.steps[p.step]?.attempt ?? 1
        meta = shell.observers.startMeta({ flow, runId, parent: { runId: p.runId, step: p.step, attempt, started } })
      } else meta = shell.observers.startMeta({ flow, runId })
    }
    return traceparent ? { ...meta, traceparent } : meta
  }

  async function cancel(runId: string, reason?: string): Promise<void> {
    assertName(runId, 'run id')
    // an object ({ reason }, as POST /runs/:runId/cancel takes) would be recorded as "[object Object]"
    if (reason !== undefined && typeof reason !== 'string')
      throw invalidArgument('cancel reason', reason, "a string, runner.cancel(runId, 'why'), or leave it out")
    // cut to a size flow.canceled holds: the run's state and its log end together
    const why = reason === undefined ? undefined : storableError(reason)
    // should this process die before the cancel is carried out (its log, its jobs, its children), a worker finishes it
    const finish = await queueCancelFinish(shell, runId)
    try {
      const { reply } = await apply(shell, runId, { type: 'cancel', reason: why }, { fresh: true })
      await finish.done()
      if (reply === 'missing') throw new LeanflowError('RUN_NOT_FOUND', `Run "${runId}" does not exist (or has expired): check the run id.`)
    } finally {
      // a failure leaves the job queued (it finishes the cancel), no longer moved out
      finish.stop()
    }
  }

  async function publishEvent(
    event: { kind: string; data?: unknown },
    opts: { idempotencyKey?: string | undefined } = {},
  ): Promise<{ id: string }> {
    // publishEvent('paid', data), as ctx.publish takes it: the fix names the kind
    if (typeof event !== 'object' || event === null)
      throw invalidArgument(
        'publishEvent event',
        event,
        typeof event === 'string' ? `an object: runner.publishEvent({ kind: ${JSON.stringify(event)}, data })` : 'an object { kind, data }',
      )
    // a misspelt data would publish null to every run awaiting the kind (as POST /events refuses
    // it); an external event passed on as it came (`ctx.await.event`'s) brings its id and ts: ignored
    assertKnownKeys(event, ['kind', 'data', 'id', 'ts'], 'publishEvent event')
    assertKnownKeys(optionsObject(opts, 'publishEvent options', '{ idempotencyKey? }'), ['idempotencyKey'], 'publishEvent')
    const kind = externalKind(event.kind, 'publishEvent')
    const data = toJson(event.data, `data of event "${kind}"`)
    return publish(shell, kind, data, idempotencyKeyOf(opts.idempotencyKey, 'publishEvent'))
  }

  async function resolveTrigger(triggerId: string, payload?: unknown): Promise<{ runId: string; step: string }> {
    // a malformed id is a caller's mistake, not an unknown trigger (POST /triggers/:id answers 400 INVALID_NAME too)
    assertName(triggerId, 'trigger id')
    const value = toJson(payload, 'trigger payload')
    // refused as an event's data over the store's limit would be (the resumed step returns it,
    // a child's input carries it): before the lookup, so nothing is read or written
    assertFits(shell, value, 'trigger payload', 0)
    const runId = await store.getLookup('trigger', triggerId)
    if (!runId) throw new TriggerNotFoundError(triggerId)
    // with the other resolves of the run in flight meanwhile, in one write
    const ask: TriggerAsk = { triggerId, value }
    // should this process die between the write and its resume job, a worker queues that job again
    const finish = await queueResolveFinish(shell, runId, triggerId)
    await shell.triggers.add(runId, ask)
    await finish.done()
    const hit = ask.reply
    if (!hit) throw new TriggerNotFoundError(triggerId)
    // a resume lost to a crash after the write is queued again by the next (conflicting) resolve
    if (hit.conflict) throw new TriggerConflictError(triggerId, CONFLICT_WORD[hit.conflict])
    return { runId, step: hit.step }
  }

  const schedules = createSchedules({
    shell,
    start: async (flow, input, idempotencyKey, schedule) => (await start(flow, input, { idempotencyKey }, { schedule })).runId,
    cancel,
  })
  const lifecycle = createLifecycle({ shell, queue, ownQueue, schedules, concurrency, cancelPollMs, drainTimeoutMs })

  return {
    flows,
    schedules,
    limits: (flow) => limitsInUse(shell, flow),
    result: (runId, opts) => resultOf(store, runId, opts, () => isServed(queue), shell.observers, OBSERVER_SETTLE_MS, hint.say),
    observe(observer) {
      return shell.observers.add(checkedObserver(observer))
    },
    startFlow,
    async rerun(runId: string, opts?: RerunOptions) {
      const key = opts?.idempotencyKey
      if (key !== undefined && (!isIdempotencyKey(key) || key.length > 256))
        throw invalidArgument('rerun idempotencyKey', key, 'a string of 1-256 characters, well-formed Unicode (a UUID, say)')
      // a repeat with the same key (for the same old run) is the first rerun (`prepared.lookup`),
      // also once the old run expired: the key names the rerun for as long as the rerun is kept
      const prepared = await prepareOrRepeat(shell, runId, opts)
      if ('runId' in prepared) return prepared
      const startOpts: StartFlowOptions = opts?.traceparent === undefined ? {} : { traceparent: opts.traceparent }
      // folded into a run of the flow's singleton or debounce window: that run, deduplicated as startFlow says
      const { runId: id, deduplicated } = await start(prepared.flow.name, prepared.input, startOpts, prepared.origin, prepared)
      return deduplicated === true ? { runId: id, deduplicated } : { runId: id }
    },
    cancel,
    publishEvent,
    resolveTrigger,
    start: lifecycle.start,
    stop: () => {
      hint.stop()
      return lifecycle.stop()
    },
  }
}
