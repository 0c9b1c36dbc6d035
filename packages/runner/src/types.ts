import type { Duration, JobQueue, RunStateStore, StreamStore } from '@leanflow/core'
import type { ConcurrencyLimit, FlowControlConfig } from './flowControlTypes.js'
import type { RunnerObserver } from './observer.js'
import type { RunnerSchedules, ScheduleDefinition } from './scheduleTypes.js'
import type { StandardSchemaV1 } from './standardSchema.js'
import type { RerunOptions, StartedRun, StartFlowOptions } from './startTypes.js'

import type { RetryPolicy, StepContext } from './stepContextTypes.js'

export type {
  AwaitEventOptions,
  AwaitTriggerOptions,
  InvokeOptions,
  RetryPolicy,
  StepAwaits,
  StepContext,
  StepHandler,
  StepLogger,
  TriggerHandle,
} from './stepContextTypes.js'

/**
 * One step of a flow: `I` is the run's input, `R` the step's result.
 *
 * @example
 * ```ts
 * const step: StepDefinition = { needs: ['charge'], retry: { attempts: 5 }, timeout: '30s', handler: async () => 1 }
 * ```
 */
export interface StepDefinition<I = any, R = unknown> {
  /**
   * Gets the run's input and the {@link StepContext} (annotate `ctx: StepContext<Results>` to type
   * `ctx.results`). A property, not a method: its `input` is checked strictly, so a handler that
   * asks for more input than the flow's is refused at compile time. `ctx` is a `StepContext<any>`: a
   * handler may annotate it with the results it reads (`StepContext<{ charge: Charge }>`).
   */
  handler: (input: I, ctx: StepContext<any>) => R | Promise<R>
  /** Steps that must complete first (a readonly list too: `['charge'] as const`). */
  needs?: readonly string[] | undefined
  retry?: RetryPolicy | undefined
  /** Longest one execution of the handler may run (ms or duration, at least 1 ms; leave it out for none); past it the attempt fails (and may retry). */
  timeout?: Duration | undefined
  /**
   * At most `limit` executions of this step's handler at once across all runs and processes (per
   * key with `key`); a step suspended in an await holds none. A step waiting for a slot logs `step.queued`.
   * @example
   * ```ts
   * steps: { call: { concurrency: { limit: 10 }, handler } }
   * ```
   */
  concurrency?: ConcurrencyLimit<I> | undefined
}

/**
 * A validated, frozen flow from `defineFlow`, typed by what `defineFlow` inferred:
 *
 * @typeParam I - the run's input as handlers see it (the `input` schema's output type, or the
 *   handlers' annotated `input`)
 * @typeParam S - each step's result (its handler's awaited return value), by step name
 * @typeParam R - the flow's result (`flow.completed.data.result`): its `result` function's return
 *   type, else its sink steps' results (steps no other step `needs`) by step name; `unknown` when not known
 * @typeParam In - what `startFlow` and `ctx.invoke` take: the `input` schema's input type (before
 *   defaults and transforms), else `I`; `unknown` when not known
 *
 * `FlowDefinition` alone (all defaults) is any flow. Annotating a flow as `FlowDefinition<I>`
 * keeps its handlers' input type but drops the rest (`startFlow` then takes any input): let
 * `defineFlow` infer the type, or name it with `typeof`.
 *
 * @example
 * ```ts
 * const order: FlowDefinition = defineFlow({ name: 'order', steps: { a: { handler: async () => 1 } } })
 * order.name // 'order'
 * ```
 */
export interface FlowDefinition<I = any, S extends StepResults = StepResults, R = unknown, In = unknown>
  extends Readonly<FlowControlConfig<I>> {
  readonly name: string
  /**
   * The flow's version (`defineFlow({ version })`, 1 when not given): a run is pinned to the
   * version it started on, and every job of it runs on that version's code.
   */
  readonly version?: number
  /** The input's schema, when `defineFlow` got one: `startFlow` checks every input with it. */
  readonly input?: StandardSchemaV1<In, I> | undefined
  readonly steps: { readonly [K in keyof S]: Readonly<StepDefinition<I, S[K]>> }
  /** Its in-code schedules (see `runner.schedules`). */
  readonly schedules?: readonly ScheduleDefinition[] | undefined
  /** Shapes the run's result from every step's result, when `defineFlow` got one (see its `result`). */
  readonly result?: ((results: Readonly<Record<string, unknown>>) => unknown) | undefined
  /**
   * Type-only, never set at runtime (like Standard Schema's `types`): the flow's types, for
   * {@link FlowInput}, {@link FlowResult} and {@link FlowStepResults}.
   */
  readonly '~types'?: { readonly input: In; readonly steps: S; readonly result: R } | undefined
}

/** Step results by step name: the shape of `FlowDefinition`'s `S`. */
export type StepResults = Record<string, unknown>

/** Any flow object, whatever its types. */
export type AnyFlow = FlowDefinition<any, any, any, any>

/**
 * What `runner.startFlow(flow, …)` and `ctx.invoke(flow, …)` take as `input` for the flow `F`:
 * its `input` schema's input type, else the handlers' input type.
 *
 * @example
 * ```ts
 * const input: FlowInput<typeof order> = { orderId: 'o-1' }
 * ```
 */
export type FlowInput<F extends AnyFlow> = NonNullable<F['~types']>['input']

/**
 * The result of a run of the flow `F` (`runner.result`, `ctx.invoke`): an object of its sink
 * steps' results by step name, e.g. `{ ship: { trackingId: string } }`.
 *
 * @example
 * ```ts
 * const result = await runner.result<FlowResult<typeof order>>(runId)
 * ```
 */
export type FlowResult<F extends AnyFlow> = NonNullable<F['~types']>['result']

/**
 * Each step's result of the flow `F` by step name (the awaited return type of its handler).
 *
 * @example
 * ```ts
 * type Charge = FlowStepResults<typeof order>['charge']
 * ```
 */
export type FlowStepResults<F extends AnyFlow> = NonNullable<F['~types']>['steps']

/** `input` then `opts` for a flow object: `input` may be left out when the flow's input allows `undefined`. */
export type FlowArgs<F extends AnyFlow, O> =
  undefined extends FlowInput<F> ? [input?: FlowInput<F>, opts?: O] : [input: FlowInput<F>, opts?: O]

/**
 * A store the runner can use: both ports.
 *
 * @example
 * ```ts
 * const store: RunnerStore = createRedisStreamStore({ url }) // or createMemoryStreamStore()
 * ```
 */
export type RunnerStore = StreamStore & RunStateStore

/**
 * Options of `createRunner`.
 *
 * @example
 * ```ts
 * createRunner({ store, queue: createBullMQQueue({ url }), flows: [order], concurrency: 20, onError: log })
 * ```
 */
export interface RunnerOptions {
  store: RunnerStore
  /** @default createMemoryQueue() */
  queue?: JobQueue | undefined
  flows: readonly FlowDefinition[]
  /** Jobs this process runs at once. @default 10 */
  concurrency?: number | undefined
  /**
   * Errors of background work (a job that failed and goes back to the queue, an observer that
   * threw). With the default queue each failed delivery is reported once; hand-backs are not
   * failures: `stop()`'s are silent, a missing flow version's is reported once per version.
   * A queue you pass reports to its own `onError`.
   * @default console.error
   */
  onError?: ((err: unknown) => void) | undefined
  /** How often a running step polls for a cancel made by another process (ms). @default 1000 */
  cancelPollMs?: number | undefined
  /** How long `stop()` waits for running steps before handing them back to the queue (ms). @default 30000 */
  drainTimeoutMs?: number | undefined
  /**
   * Names this worker in `meta.worker` of the `step.started` and `step.completed` events of the
   * steps it runs, so a log says where each step ran (the host and process by default; set it to
   * a pod or container name).
   * @default `${os.hostname()}:${process.pid}`
   * @example
   * ```ts
   * createRunner({ store, flows, workerId: process.env.POD_NAME })
   * ```
   */
  workerId?: string | undefined
  /** This worker's clock, only for durations (deadlines use the store's clock). @default Date.now */
  clock?: (() => number) | undefined
  /**
   * How long a step-level concurrency slot holds without renewal (ms): the running handler renews
   * it every third of this; a dead worker's slot frees itself after it.
   * @default 30000
   */
  slotLeaseMs?: number | undefined
  /** Most awaits (and invokes) one step may have pending at once; more is `INVALID_ARGUMENT`. @default 1000 */
  maxPendingAwaits?: number | undefined
}

/**
 * One limit of a flow in use (`runner.limits(flow)`, `GET /:flow/limits`): its scope (`flow`, or
 * the step's name), kind, key, holders now (rate: admissions in the current window) and runs or
 * steps waiting in its line.
 *
 * @example
 * ```ts
 * const { limits } = await runner.limits('sync')
 * // [{ scope: 'flow', kind: 'concurrency', key: 'tenant-1', active: 1, queued: 4 }]
 * ```
 */
export interface LimitInfo {
  scope: string
  kind: 'concurrency' | 'rateLimit'
  key: string
  active: number
  queued: number
}

/**
 * Executes flows; see `createRunner`.
 *
 * @example
 * ```ts
 * const { runId } = await runner.startFlow('order', { orderId: 'o-1' })
 * await runner.publishEvent({ kind: 'payment.confirmed', data: { orderId: 'o-1' } })
 * await runner.resolveTrigger(triggerId, { approved: true })
 * await runner.cancel(runId, 'customer asked')
 * ```
 */
export interface Runner {
  readonly flows: readonly FlowDefinition[]
  /** Begins executing steps in this process. */
  start(): Promise<void>
  /** Stops taking jobs; running steps finish or go back to the queue. */
  stop(): Promise<void>
  /**
   * Starts a run of a flow this runner holds, given by its object (`input` is then checked against
   * the flow's input type) or by its name.
   * @example
   * ```ts
   * await runner.startFlow(order, { orderId: 'o-1' }) // typed: a wrong input is a compile error
   * await runner.startFlow('order', { orderId: 'o-1' })
   * ```
   */
  startFlow<F extends AnyFlow>(flow: F, ...args: FlowArgs<F, StartFlowOptions>): Promise<StartedRun>
  startFlow(name: string, input?: unknown, opts?: StartFlowOptions): Promise<StartedRun>
  cancel(runId: string, reason?: string): Promise<void>
  /**
   * Starts a **new** run of the same flow and version as the run `runId` (completed, failed or
   * canceled; the old run is untouched), with `flow.started.data.rerunOf = { runId, from? }`.
   * With `from`, that step and its descendants run fresh and every other step that completed is
   * copied with its recorded result; without it, every step runs again. Rejects with
   * `RUN_NOT_FOUND` for an unknown run, `INVALID_ARGUMENT` for a `from` that is not a step of it.
   * On a flow with `singleton` or `debounce` it may fold into the run already active or waiting,
   * as `startFlow` would: that run's id with `deduplicated: true` (no new run was started).
   * @example
   * ```ts
   * const { runId: again } = await runner.rerun(failedRunId, { from: 'charge' })
   * await runner.result(again)
   * ```
   */
  rerun(runId: string, opts?: RerunOptions): Promise<StartedRun>
  publishEvent(event: { kind: string; data?: unknown }, opts?: { idempotencyKey?: string | undefined }): Promise<{ id: string }>
  /**
   * Resolves the trigger a step awaits (`ctx.await.trigger`) with `payload`: `{ runId, step }`.
   * Rejects with `InvalidNameError` (`INVALID_NAME`) for an id that breaks the name rule (`a:b`,
   * `''`, a non-string), before any store access, as `POST /triggers/:id` answers 400;
   * `TriggerNotFoundError` for a well-formed id that is unknown or whose run expired;
   * `TriggerConflictError` when it was already resolved, timed out or canceled.
   * @example
   * ```ts
   * const { runId, step } = await runner.resolveTrigger(triggerId, { approved: true })
   * ```
   */
  resolveTrigger(triggerId: string, payload?: unknown): Promise<{ runId: string; step: string }>
  /** Cron and interval schedules: stored ones and the flows' in-code ones; a started runner fires their ticks. */
  readonly schedules: RunnerSchedules
  /**
   * The flow's limits in use: holders and waiters per limit and key (empty for a flow without flow
   * control). Takes the flow or its name.
   * @example
   * ```ts
   * const { limits } = await runner.limits(sync) // or runner.limits('sync')
   * ```
   */
  limits(flow: string | AnyFlow): Promise<{ limits: LimitInfo[] }>
  /**
   * The run's result once it ends (`flow.completed.data.result`), from any process (it follows
   * the run's log): rejects with `RunFailedError`, `RunCanceledError`, `RUN_NOT_FOUND`, or
   * `AwaitTimeoutError` after `timeout`. When this process appended the run's end, it answers
   * once its observers (`observe`, `@leanflow/otel`) were told of it (waiting at most 5 s for them).
   * @example
   * ```ts
   * const { runId } = await runner.startFlow('order', input)
   * const result = await runner.result(runId, { timeout: '30s' })
   * const typed = await runner.result<FlowResult<typeof order>>(runId) // the flow's result type
   * ```
   */
  result<R = unknown>(runId: string, opts?: { timeout?: Duration | undefined }): Promise<R>
  /**
   * Registers an observer of this process's appends (telemetry: `@leanflow/otel`); returns the
   * function that unregisters it. See {@link RunnerObserver}.
   * @example
   * ```ts
   * const stop = runner.observe({ onEvent: (event, started) => console.log(started.data.name, event.kind) })
   * ```
   */
  observe(observer: RunnerObserver): () => void
}
