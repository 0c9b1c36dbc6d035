import type { Duration, ExternalEvent } from '@leanflow/core'
import type { AnyFlow, FlowArgs, FlowResult } from './types.js'

// What a step handler gets: its `ctx` (StepContext) with awaits, invoke, logger and options.

/**
 * How a step retries. Every error retries until `attempts` (all tries, the
 * first included) run out, except `NonRetriableError`, `AwaitTimeoutError`
 * and `NonDeterminismError`; `RetryAfterError(ms)` sets the delay.
 *
 * @example
 * ```ts
 * const retry: RetryPolicy = { attempts: 5, backoff: { type: 'exponential', delayMs: 500, maxDelayMs: 10_000 } }
 * ```
 */
export interface RetryPolicy {
  /** All tries, the first included. @default 3 */
  attempts?: number | undefined
  backoff?:
    | {
        /** @default 'exponential' */
        type?: 'fixed' | 'exponential' | undefined
        /** First delay (ms). @default 1000 */
        delayMs?: number | undefined
        /** Cap on any delay (ms). @default 30000 */
        maxDelayMs?: number | undefined
      }
    | undefined
  /** Random spread of each delay, as a fraction (0.2 = ±20%). @default 0.2 */
  jitter?: number | undefined
}

/**
 * Step logger: every call appends a `log` event (not again on replay).
 *
 * @example
 * ```ts
 * ctx.logger.info('charged', { chargeId })
 * ```
 */
export interface StepLogger {
  debug(msg: string, fields?: Record<string, unknown>): void
  info(msg: string, fields?: Record<string, unknown>): void
  warn(msg: string, fields?: Record<string, unknown>): void
  error(msg: string, fields?: Record<string, unknown>): void
}

/**
 * Options of `ctx.await.event`.
 *
 * @example
 * ```ts
 * const paid = await ctx.await.event({ kind: 'payment.confirmed', match: { 'data.orderId': id }, timeout: '24h' })
 * ```
 */
export interface AwaitEventOptions {
  /** The external event kind. */
  kind: string
  /** JSON paths (from the event record) to expected values, e.g. `{ 'data.orderId': 'o-1' }`. */
  match?: Record<string, unknown> | undefined
  /** ms or a duration string; the handler then sees `AwaitTimeoutError`. */
  timeout?: Duration | undefined
}

/**
 * Options of `ctx.await.trigger`.
 *
 * @example
 * ```ts
 * const t = await ctx.await.trigger({ type: 'webhook', payload: { orderId }, timeout: '7d' })
 * ```
 */
export interface AwaitTriggerOptions {
  /** A free label: `'webhook'`, `'user'`, `'api'`, … */
  type: string
  /** Stored on `step.await.trigger` (what the resolver needs to know). */
  payload?: unknown
  /** ms or a duration string; `wait()` then throws `AwaitTimeoutError`. */
  timeout?: Duration | undefined
}

/**
 * A registered trigger: its id exists (and `step.await.trigger` is appended) before `wait()` is called.
 *
 * @example
 * ```ts
 * const t = await ctx.await.trigger<{ ok: boolean }>({ type: 'user' })
 * await sendEmail(to, 'Approve?', `https://app.example/approve/${t.id}`)
 * const { ok } = await t.wait()
 * ```
 */
export interface TriggerHandle<T = unknown> {
  /** The trigger id to hand out (`runner.resolveTrigger(id, payload)`, `POST /triggers/:id`). */
  readonly id: string
  /** The resolve payload; suspends the step while none has come. */
  wait(): Promise<T>
}

/**
 * The durable awaits of a step (`ctx.await`). Each suspends the step until satisfied; on resume
 * the handler runs again and completed awaits return their recorded values by call order.
 *
 * @example
 * ```ts
 * await ctx.await.time('5m')
 * ```
 */
export interface StepAwaits {
  /** Resolves at `resumeAt` by the store's clock: ms, a duration string or a `Date`. */
  time(at: Duration | Date): Promise<void>
  /** Resolves to the matched external event. */
  event<D = unknown>(opts: AwaitEventOptions): Promise<ExternalEvent<D>>
  /** Registers a trigger. */
  trigger<T = unknown>(opts: AwaitTriggerOptions): Promise<TriggerHandle<T>>
}

/**
 * What a step handler receives besides the run's input.
 *
 * @example
 * ```ts
 * handler: async (input: { orderId: string }, ctx) => {
 *   const charge = await ctx.do('charge', () => chargeCard(input.orderId))
 *   ctx.logger.info('charged', { charge, attempt: ctx.attempt })
 *   return charge
 * }
 * ```
 */
export interface StepContext<R extends Record<string, unknown> = Record<string, unknown>> {
  readonly runId: string
  readonly step: string
  /** 1-based attempt. */
  readonly attempt: number
  /** Aborts when the run is canceled (or this execution lost its lease). */
  readonly signal: AbortSignal
  /**
   * Results of every step this one depends on, directly or transitively. Typed by annotating the
   * handler's `ctx` (`ctx: StepContext<{ charge: Charge }>`): a step's type cannot be inferred from
   * the other steps of the same `defineFlow` call.
   */
  readonly results: Readonly<R>
  readonly logger: StepLogger
  /** The run's shared state (`state.set` events). */
  readonly state: {
    get<T = unknown>(key: string): Promise<T | undefined>
    set(key: string, value: unknown): Promise<void>
  }
  /** Appends a user event (kind not built in) to the run's log. */
  emit(kind: string, data?: unknown): Promise<void>
  readonly await: StepAwaits
  /**
   * Branches on code added while runs were in flight. On a first execution it records a marker at
   * its call position (stored with the step's next record) and returns `true`; replaying a
   * history written before the patch (another record at that position) it returns `false` and
   * consumes nothing, so the old code path replays. Synchronous.
   * @example
   * ```ts
   * if (ctx.patched('fraud-check')) await ctx.do('fraud', () => checkFraud(input))
   * const receipt = await ctx.do('charge', () => charge(input))
   * ```
   */
  patched(id: string): boolean
  /** A memoized side-effect block: its result is recorded and replayed, never run twice once it succeeded. */
  do<T>(name: string, fn: () => T | Promise<T>): Promise<T>
  /**
   * Runs `flow` (a flow object or the name of a flow this runner holds) as a child run with
   * `input`, and returns its result (`flow.completed.data.result`). The child is started once per
   * call position (a replay returns the recorded outcome); a failed or canceled child throws
   * `ChildRunError`. Any number of invokes and awaits may be pending at once (`Promise.all`).
   *
   * Given the flow object, `input` is checked against the flow's input type and the result is
   * typed as the flow's result ({@link FlowResult}); given a name, the input is not checked and
   * the result is `R` (`unknown` unless given).
   * @example
   * ```ts
   * const invoices = await Promise.all(input.lines.map((line) => ctx.invoke('invoice', line)))
   * const { price } = await ctx.invoke(quote, { sku: 'a-1' }) // typed by the flow `quote`
   * ```
   */
  invoke<F extends AnyFlow>(flow: F, ...args: FlowArgs<F, InvokeOptions>): Promise<FlowResult<F>>
  invoke<R = unknown>(flow: string, input?: unknown, opts?: InvokeOptions): Promise<R>
  /**
   * Publishes an external event (as `runner.publishEvent`), once per call position: other runs'
   * `ctx.await.event` on `kind` receive it. `ctx.emit` stays in this run's log.
   * @example
   * ```ts
   * await ctx.publish('order.billed', { orderId: input.orderId })
   * ```
   */
  publish(kind: string, data?: unknown): Promise<{ id: string }>
}

/**
 * Options of `ctx.invoke`.
 *
 * @example
 * ```ts
 * await ctx.invoke(invoice, line, { timeout: '10m' })
 * ```
 */
export interface InvokeOptions {
  /** ms or a duration string: past it the invoke throws `AwaitTimeoutError` (the child keeps running). */
  timeout?: Duration | undefined
}

/**
 * A step handler: gets the run's input and the {@link StepContext}; its return value (JSON) is the step's result.
 *
 * @example
 * ```ts
 * const ship: StepHandler<{ orderId: string }> = async (input, ctx) => shipOrder(input.orderId)
 * ```
 */
export type StepHandler<I = any, R = unknown> = (input: I, ctx: StepContext) => R | Promise<R>
