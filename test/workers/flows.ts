/**
 * Flows shared by the multi-process BullMQ tests and their worker processes
 * (`runnerWorker.ts`). Imported by relative path so forked processes need no
 * aliases.
 */
import type { Redis } from 'ioredis'
import type { FlowDefinition, StepContext } from '../../packages/runner/src/index.js'
import { defineFlow } from '../../packages/runner/src/index.js'

/** Fault-injection points, called by the steps of `five`. */
export interface FlowHooks {
  /** At handler entry (the step's `step.started` is stored by then). */
  onStart?(ctx: StepContext): Promise<void> | void
  /** Right after the step's `ctx.do` effect returned (its result is recorded). */
  afterEffect?(ctx: StepContext): Promise<void> | void
  /** How long each `ctx.do` effect takes after its INCR, ms (a slow payment call). @default 0 */
  effectMs?: number
}

/** The Redis key counting how often the `ctx.do` effect of `step` in `runId` ran. */
export const effectKey = (ns: string, runId: string, step: string) => `${ns}:fx:${runId}:${step}`

const retry = { attempts: 20, backoff: { type: 'exponential' as const, delayMs: 20, maxDelayMs: 500 } }

/**
 * `five`: a → (b, c) → d → e. Every step runs one `ctx.do` effect (an INCR
 * of {@link effectKey}); `b` throws on its first attempt when `input.failB`
 * (after its effect, so the retry replays the recorded effect); `c` awaits
 * `input.sleepMs` ms (default 30). Input: `{ ns, failB?, sleepMs? }`.
 *
 * `approval`: `pay` awaits the external event `payment.confirmed` matching
 * `data.orderId`; `approve` awaits a `webhook` trigger and returns its payload.
 */
export function makeFlows(effects: Redis, hooks: FlowHooks = {}): FlowDefinition[] {
  const step = (extra?: (input: FiveInput, ctx: StepContext) => Promise<void>) => async (input: FiveInput, ctx: StepContext) => {
    await hooks.onStart?.(ctx)
    const n = await ctx.do('effect', async () => {
      const counted = await effects.incr(effectKey(input.ns, ctx.runId, ctx.step))
      if (hooks.effectMs) await new Promise((r) => setTimeout(r, hooks.effectMs))
      return counted
    })
    await hooks.afterEffect?.(ctx)
    await extra?.(input, ctx)
    return { step: ctx.step, n }
  }
  const five = defineFlow<FiveInput>({
    name: 'five',
    steps: {
      a: { retry, handler: step() },
      b: {
        needs: ['a'],
        retry,
        handler: step(async (input, ctx) => {
          if (input.failB && ctx.attempt === 1) throw new Error('b fails its first attempt')
        }),
      },
      c: {
        needs: ['a'],
        retry,
        handler: step(async (input, ctx) => {
          await ctx.await.time(input.sleepMs ?? 30)
        }),
      },
      d: {
        needs: ['b', 'c'],
        retry,
        handler: step(async (_input, ctx) => {
          ctx.logger.info('joined', { b: ctx.results.b, c: ctx.results.c })
        }),
      },
      e: { needs: ['d'], retry, handler: step() },
    },
  })

  const approval = defineFlow<{ orderId: string }>({
    name: 'approval',
    steps: {
      pay: {
        retry,
        handler: async (input, ctx) => {
          const paid = await ctx.await.event<{ orderId: string; amount: number }>({
            kind: 'payment.confirmed',
            match: { 'data.orderId': input.orderId },
          })
          return paid.data.amount
        },
      },
      approve: {
        needs: ['pay'],
        retry,
        handler: async (_input, ctx) => {
          const t = await ctx.await.trigger<{ approved: boolean }>({ type: 'webhook' })
          return await t.wait()
        },
      },
    },
  })

  return [five, approval]
}

/** Input of the `five` flow. */
export interface FiveInput {
  /** Namespace of the effect counters. */
  ns: string
  failB?: boolean
  sleepMs?: number
}
