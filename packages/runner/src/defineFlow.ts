import { assertFlowName, assertKnownKeys, assertName, invalidArgument, isLeanflowError, LeanflowError, parseDuration } from '@leanflow/core'
import { flowControlOf } from './flowControl/control.js'
import type { FlowControlConfig } from './flowControlTypes.js'
import { normalizeRetry } from './retryPolicy.js'
import { scheduleDocOf } from './schedules/scheduleDoc.js'
import type { ScheduleDefinition } from './scheduleTypes.js'
import { isStandardSchema, type StandardSchemaV1 } from './standardSchema.js'
import type { FlowDefinition, StepDefinition } from './types.js'

/**
 * What `defineFlow` takes: `I` is the run's input as handlers see it, `Steps` the steps (by
 * default any steps of that input), `In` what `startFlow` takes (the `input` schema's input type).
 */
export interface FlowConfig<I = any, Steps extends Record<string, StepDefinition<I>> = Record<string, StepDefinition<I>>, In = unknown>
  extends FlowControlConfig<I> {
  name: string
  /**
   * The flow's version: a positive integer. A runner may hold several versions of a flow (new
   * runs start on the highest); each run stays on the version it started on.
   * @default 1
   * @example
   * ```ts
   * const v2 = defineFlow({ name: 'order', version: 2, steps: { … } })
   * createRunner({ store, flows: [v1, v2] })
   * ```
   */
  version?: number | undefined
  /**
   * A schema of the run's input, from any Standard Schema library (zod, valibot, arktype, …):
   * `startFlow` and `POST /:flow/runs` check every input with it and refuse a bad one with
   * `INVALID_ARGUMENT` and the schema's issues (nothing is written); the run gets the schema's
   * output (defaults and transforms applied); handlers' `input` is typed from it.
   * @example
   * ```ts
   * defineFlow({ name: 'order', input: z.object({ orderId: z.string() }), steps: { … } })
   * ```
   */
  input?: StandardSchemaV1<In, I> | undefined
  steps: Steps
  /**
   * Schedules that start runs of this flow (upserted by every runner that holds the flow when it
   * starts; their `input` may be a function of the tick).
   * @example
   * ```ts
   * defineFlow({ name: 'report', schedules: [{ id: 'nightly', cron: '0 3 * * *', tz: 'Europe/Berlin' }], steps })
   * ```
   */
  schedules?: readonly ScheduleDefinition[] | undefined
  /** Shapes the run's result from every step's result (typed by `defineFlow`; see its `result`). */
  result?: ((results: any) => unknown) | undefined
}

/** The flows `defineFlow` made (checked and frozen): `createRunner` checks any other flow object again. */
const defined = new WeakSet<object>()

/** Whether `flow` is a `defineFlow` result (a copy or a hand-made object is not: it was never checked). */
export function isDefinedFlow(flow: object): boolean {
  return defined.has(flow)
}

const FLOW_KEYS = ['name', 'version', 'input', 'steps', 'result', 'schedules', 'concurrency', 'rateLimit', 'debounce', 'singleton']
const STEP_KEYS = ['handler', 'needs', 'retry', 'timeout', 'concurrency']

/**
 * Validates a flow and freezes it: names follow the name rule (flow names
 * `runs`, `triggers`, `events`, `schedules` are reserved), every `needs` names a step of
 * the flow, and the steps form a DAG (a cycle is refused, naming it).
 *
 * The flow is typed by what it is given: its input (the `input` schema's output type, or the
 * handlers' annotated `input`), each step's result (its handler's awaited return value) and its
 * result (the sink steps' results by name), so `runner.startFlow(flow, input)` and
 * `ctx.invoke(flow, input)` check `input` and type the result (see {@link FlowDefinition}).
 *
 * @example
 * ```ts
 * const order = defineFlow({
 *   name: 'order',
 *   input: z.object({ orderId: z.string() }), // optional: any Standard Schema
 *   steps: {
 *     charge: { handler: async (input: { orderId: string }) => ({ charged: input.orderId }) },
 *     ship: { needs: ['charge'], handler: async (_input, ctx) => ctx.results.charge },
 *   },
 * })
 * ```
 */
export function defineFlow<
  I = any,
  const T extends Record<string, StepDefinition<I>> = Record<string, StepDefinition<I>>,
  In = I,
  Out = typeof SINKS,
>(
  config: Omit<FlowConfig<I, T & Record<string, StepDefinition<I>>, In>, 'result' | 'schedules'> & {
    /** The flow's schedules (see {@link FlowConfig}), each one's `input` checked against the flow's input. */
    schedules?: readonly ScheduleDefinition<NoInfer<In>>[] | undefined
    /**
     * Shapes the run's result (`flow.completed.data.result`, what `runner.result` and `ctx.invoke`
     * return) from every step's result by step name; without it the result is the sink steps'
     * results by name. Computed once, when the last step completes: it must be synchronous and
     * pure, and return JSON. If it throws, the run fails with its error (no retry).
     * @example
     * ```ts
     * defineFlow({ name: 'quote', steps, result: (r) => ({ total: r.price.amount * (1 + r.tax) }) })
     * ```
     */
    result?: ((results: StepResultsOf<T>) => Out) | undefined
  },
): FlowDefinition<I, StepResultsOf<T>, [Out] extends [typeof SINKS] ? SinkResultsOf<T> : Out, In> {
  if (typeof config !== 'object' || config === null) {
    throw new LeanflowError('INVALID_ARGUMENT', 'defineFlow needs an object { name, steps }.')
  }
  const name = assertFlowName(config.name)
  assertKnownKeys(config, FLOW_KEYS, `Flow "${name}"`)
  const version = config.version ?? 1
  // invalidArgument shows NaN, Infinity and a bigint as they are (JSON.stringify: null, or a TypeError)
  if (!Number.isSafeInteger(version) || version < 1)
    throw invalidArgument(`flow "${name}" version`, version, 'a positive integer: 1, 2, 3, … (or leave it out for 1)')
  const schema = config.input
  if (schema !== undefined && !isStandardSchema(schema)) {
    throw new LeanflowError(
      'INVALID_ARGUMENT',
      `Flow "${name}": input must be a Standard Schema (a zod, valibot or arktype schema: it has "~standard"), got ${typeof schema}.`,
    )
  }
  const input = config.steps
  if (typeof input !== 'object' || input === null || Object.keys(input).length === 0) {
    throw new LeanflowError('INVALID_ARGUMENT', `Flow "${name}" has no steps: pass steps: { [name]: { handler } }.`)
  }
  const steps: Record<string, Readonly<StepDefinition<I>>> = Object.create(null)
  for (const [stepName, def] of Object.entries(input)) {
    assertName(stepName, 'step name')
    if (typeof def !== 'object' || def === null || typeof def.handler !== 'function') {
      throw new LeanflowError('INVALID_ARGUMENT', `Step "${stepName}" of flow "${name}" needs a handler function.`)
    }
    assertKnownKeys(def, STEP_KEYS, `Step "${stepName}" of flow "${name}"`)
    const needs = def.needs ?? []
    if (!Array.isArray(needs)) {
      throw new LeanflowError('INVALID_ARGUMENT', `Step "${stepName}" of flow "${name}": needs must be an array of step names.`)
    }
    for (const dep of needs) {
      assertName(dep, 'step name')
      if (!Object.hasOwn(input, dep)) {
        throw new LeanflowError(
          'INVALID_ARGUMENT',
          `Step "${stepName}" of flow "${name}" needs "${dep}", which is not a step of this flow: add it or fix the name.`,
        )
      }
      if (dep === stepName) {
        throw new LeanflowError(
          'INVALID_ARGUMENT',
          `Step "${stepName}" of flow "${name}" needs itself: a cycle ${stepName} -> ${stepName}.`,
        )
      }
    }
    if (def.retry !== undefined) {
      try {
        normalizeRetry(def.retry)
      } catch (err) {
        // which of the flows' steps: a service defines many
        throw isLeanflowError(err) ? new LeanflowError(err.code, `Step "${stepName}" of flow "${name}": ${err.message}`) : err
      }
    }
    // 0 ms would fail every attempt at its first await (and reads as "no timeout" elsewhere)
    if (def.timeout !== undefined && parseDuration(def.timeout, `timeout of step "${stepName}"`) < 1)
      throw invalidArgument(`timeout of step "${stepName}"`, def.timeout, 'at least 1 ms, or leave it out for no timeout')
    steps[stepName] = Object.freeze({ ...def, needs: Object.freeze([...new Set(needs)]) as string[] })
  }
  const cycle = findCycle(steps)
  if (cycle) {
    throw new LeanflowError('INVALID_ARGUMENT', `Flow "${name}" has a cycle: ${cycle.join(' -> ')}. Steps must form a DAG through needs.`)
  }
  const flow: { -readonly [K in keyof FlowDefinition<I>]: FlowDefinition<I>[K] } = { name, version, steps: Object.freeze(steps) }
  if (schema !== undefined) flow.input = schema
  if (config.result !== undefined) {
    if (typeof config.result !== 'function') {
      throw new LeanflowError(
        'INVALID_ARGUMENT',
        `Flow "${name}": result must be a function of the steps' results, e.g. result: (r) => r.total; got ${typeof config.result}.`,
      )
    }
    flow.result = config.result as (results: Readonly<Record<string, unknown>>) => unknown
  }
  if (config.schedules !== undefined) flow.schedules = schedulesOf(name, config.schedules)
  // flow control: checked here (a limit of 0, a bad period: INVALID_ARGUMENT), applied by the runner
  flowControlOf(name, config, steps)
  for (const k of ['concurrency', 'rateLimit', 'debounce', 'singleton'] as const) {
    if (config[k] !== undefined) Object.assign(flow, { [k]: config[k] })
  }
  defined.add(flow)
  // the types are the config's (inferred by the signature), the object is what was checked above
  return Object.freeze(flow) as FlowDefinition<I, StepResultsOf<T>, [Out] extends [typeof SINKS] ? SinkResultsOf<T> : Out, In>
}

/** Type-only marker: no `result` function was given (the result is the sink steps' results). */
declare const SINKS: unique symbol

/** Each step's result by step name (written as a conditional type so hovers and errors show the object, not this name). */
type StepResultsOf<T> = T extends unknown ? { -readonly [K in keyof T]: ResultOf<T[K]> } : never

/** A step's result: the awaited return type of its handler. */
type ResultOf<Step> = Step extends { handler: (...args: any[]) => infer R } ? Awaited<R> : unknown

/** The step names some step `needs` (`string` when a `needs` is not a literal list). */
type NeededOf<T> = { [K in keyof T]: T[K] extends { readonly needs: readonly (infer N extends string)[] } ? N : never }[keyof T]

/**
 * The flow's result: its sink steps' results (steps no step `needs`) by name; every step's,
 * each optional, when some `needs` is not a literal list; `unknown` when the step names are not known.
 */
type SinkResultsOf<T> = string extends keyof T
  ? unknown
  : string extends NeededOf<T>
    ? { -readonly [K in keyof T]?: ResultOf<T[K]> }
    : { -readonly [K in keyof T as K extends NeededOf<T> ? never : K]: ResultOf<T[K]> }

/** The in-code schedules of a flow, checked (each one's fields; ids unique) and frozen. */
function schedulesOf(flow: string, list: unknown): readonly ScheduleDefinition[] {
  if (!Array.isArray(list))
    throw new LeanflowError('INVALID_ARGUMENT', `Flow "${flow}": schedules must be an array of { id, cron | every, … }.`)
  const ids = new Set<string>()
  for (const def of list as ScheduleDefinition[]) {
    const doc = scheduleDocOf(def, flow, 'code')
    if (ids.has(doc.id))
      throw new LeanflowError('INVALID_ARGUMENT', `Flow "${flow}" has two schedules with the id "${doc.id}": ids are unique.`)
    ids.add(doc.id)
  }
  return Object.freeze(list.map((d: ScheduleDefinition) => Object.freeze({ ...d })))
}

function findCycle(steps: Record<string, StepDefinition>): string[] | undefined {
  const state = new Map<string, 1 | 2>()
  const path: string[] = []
  const visit = (s: string): string[] | undefined => {
    const st = state.get(s)
    if (st === 2) return undefined
    if (st === 1) return [...path.slice(path.indexOf(s)), s]
    state.set(s, 1)
    path.push(s)
    for (const d of steps[s]?.needs ?? []) {
      const c = visit(d)
      if (c) return c
    }
    path.pop()
    state.set(s, 2)
    return undefined
  }
  for (const s of Object.keys(steps)) {
    const c = visit(s)
    if (c) return c
  }
  return undefined
}
