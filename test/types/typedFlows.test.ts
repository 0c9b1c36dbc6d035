import { createMemoryStreamStore } from '@leanflow/core'
import {
  createRunner,
  defineFlow,
  type FlowDefinition,
  type FlowInput,
  type FlowResult,
  type FlowStepResults,
  type ScheduleDefinition,
  type ScheduleTick,
  type StepContext,
} from '@leanflow/runner'
import * as v from 'valibot'
import { describe, expect, expectTypeOf, it } from 'vitest'
import { z } from 'zod'

// Typed flows (#15, design/composition.md): what defineFlow infers, and the typed startFlow /
// ctx.invoke / runner.result. The assertions are types: `pnpm typecheck` (tsc over test/) fails
// when one regresses, and each `@ts-expect-error` fails it when the error it expects is gone.

/** Type-checks `fn` without running it (calls that would fail or start runs). */
const typeOnly = (_fn: () => unknown) => {}

const quoteInput = z.object({ sku: z.string(), qty: z.number().int().default(1) })
const quote = defineFlow({
  name: 'quote',
  input: quoteInput,
  steps: {
    price: { handler: async (input) => ({ price: input.qty * 20, sku: input.sku }) },
    tax: { needs: ['price'], handler: async () => 0.2 },
    total: { needs: ['price', 'tax'], handler: async (_input, ctx) => ({ total: (ctx.results.price as { price: number }).price * 1.2 }) },
    audit: { needs: ['price'], handler: () => 'ok' as const },
  },
})

const order = defineFlow({
  name: 'order',
  steps: {
    charge: { handler: async (input: { orderId: string }) => ({ chargeId: `ch-${input.orderId}` }) },
    ship: { needs: ['charge'], handler: async (input: { orderId: string }, ctx) => ({ trackingId: `${input.orderId}/${ctx.attempt}` }) },
  },
})

describe('defineFlow infers the types of a flow', () => {
  it("input: from the schema (handlers get its output, startFlow takes its input) or the handlers' annotation", () => {
    defineFlow({
      name: 'seen',
      input: z.object({ sku: z.string(), qty: z.number().default(1) }),
      steps: { a: { handler: (input) => expectTypeOf(input).toEqualTypeOf<{ sku: string; qty: number }>() } },
    })
    expectTypeOf<FlowInput<typeof quote>>().toEqualTypeOf<{ sku: string; qty?: number | undefined }>()
    expectTypeOf(quote).toExtend<FlowDefinition<{ sku: string; qty: number }>>()
    expectTypeOf<FlowInput<typeof order>>().toEqualTypeOf<{ orderId: string }>()
    const vb = defineFlow({ name: 'vb', input: v.object({ id: v.string() }), steps: { a: { handler: async (i) => i.id } } })
    expectTypeOf<FlowInput<typeof vb>>().toEqualTypeOf<{ id: string }>()
    expectTypeOf<FlowStepResults<typeof vb>>().toEqualTypeOf<{ a: string }>()
  })

  it("each step's result: the awaited return type of its handler", () => {
    expectTypeOf<FlowStepResults<typeof quote>>().toEqualTypeOf<{
      price: { price: number; sku: string }
      tax: number
      total: { total: number }
      audit: 'ok'
    }>()
    expectTypeOf<FlowStepResults<typeof order>>().toEqualTypeOf<{ charge: { chargeId: string }; ship: { trackingId: string } }>()
  })

  it("the flow's result: its sink steps' results (no step needs them) by name", () => {
    expectTypeOf<FlowResult<typeof quote>>().toEqualTypeOf<{ total: { total: number }; audit: 'ok' }>()
    expectTypeOf<FlowResult<typeof order>>().toEqualTypeOf<{ ship: { trackingId: string } }>()
  })

  it("a result function shapes the result: its parameter is every step's result, its return the flow's result", () => {
    const shaped = defineFlow({
      name: 'shaped',
      steps: {
        price: { handler: async () => ({ amount: 40 }) },
        tax: { needs: ['price'], handler: () => 0.2 },
      },
      result: (r) => {
        expectTypeOf(r).toEqualTypeOf<{ price: { amount: number }; tax: number }>()
        return { total: r.price.amount * (1 + r.tax) }
      },
    })
    expectTypeOf<FlowResult<typeof shaped>>().toEqualTypeOf<{ total: number }>()
    expectTypeOf<FlowStepResults<typeof shaped>>().toEqualTypeOf<{ price: { amount: number }; tax: number }>()
    typeOnly(() =>
      defineFlow({
        name: 'bad',
        steps: { a: { handler: () => 1 } },
        // @ts-expect-error: there is no step b
        result: (r) => r.b,
      }),
    )
    // a result of no known type compiles (a parsed response, JSON.parse), as a function that only throws does
    const loose: any = { price: 3 }
    typeOnly(() => [
      defineFlow({ name: 'any-result', steps: { a: { handler: async () => loose } }, result: (r) => r.a.price }),
      defineFlow({ name: 'parsed', steps: { a: { handler: () => '{"n":1}' } }, result: (r) => JSON.parse(r.a) }),
      defineFlow({
        name: 'throws',
        steps: { a: { handler: () => 1 } },
        result: (): never => {
          throw new Error('no result')
        },
      }),
    ])
  })

  it('a needs that is not a literal list: every step is in the result, each optional', () => {
    const needs: string[] = ['a']
    const loose = defineFlow({ name: 'loose', steps: { a: { handler: () => 1 }, b: { needs, handler: () => 'b' } } })
    expectTypeOf<FlowResult<typeof loose>>().toEqualTypeOf<{ a?: number; b?: string }>()
  })

  it('a handler that asks for more input than another: the flow takes all of it, whichever handler comes first', () => {
    // handler was a method, whose parameter TypeScript checks both ways: the first annotation
    // won, and startFlow took { orderId } though notify reads input.email (the run crashed)
    const notify = defineFlow({
      name: 'notify',
      steps: {
        charge: { handler: async (input: { orderId: string }) => input.orderId },
        mail: { needs: ['charge'], handler: async (input: { orderId: string; email: string }) => input.email.toLowerCase() },
      },
    })
    expectTypeOf<FlowInput<typeof notify>>().toEqualTypeOf<{ orderId: string; email: string }>()
    const schema = defineFlow({
      name: 'schema',
      // @ts-expect-error: the schema's output has no extra, which the handler asks for
      input: z.object({ id: z.string() }),
      steps: { a: { handler: async (input: { id: string; extra: number }) => input.extra } },
    })
    expect(schema.name).toBe('schema')
    typeOnly(async () => {
      const runner = createRunner({ store: createMemoryStreamStore(), flows: [notify] })
      // @ts-expect-error: email is missing
      await runner.startFlow(notify, { orderId: 'o-1' })
    })
  })

  it('step names of Object.prototype members (with needs), and a readonly needs list, keep the types', () => {
    const deps = ['price'] as const
    const proto = defineFlow({
      name: 'proto',
      steps: {
        price: { handler: async () => ({ amount: 20 }) },
        valueOf: { needs: ['price'], handler: async () => 0.2 },
        toString: { needs: deps, handler: async () => 'x' },
      },
      result: (r) => ({ total: r.price.amount * (1 + r.valueOf), s: r.toString }),
    })
    expectTypeOf<FlowStepResults<typeof proto>>().toEqualTypeOf<{ price: { amount: number }; valueOf: number; toString: string }>()
    expectTypeOf<FlowResult<typeof proto>>().toEqualTypeOf<{ total: number; s: string }>()
  })

  it('untyped flows stay as loose as before: any input, an unknown result', () => {
    expectTypeOf<FlowInput<FlowDefinition>>().toBeUnknown()
    expectTypeOf<FlowResult<FlowDefinition>>().toBeUnknown()
    const explicit = defineFlow<{ n: number }>({ name: 'explicit', steps: { a: { handler: async (input) => input.n } } })
    expectTypeOf<FlowInput<typeof explicit>>().toEqualTypeOf<{ n: number }>()
    expectTypeOf<FlowResult<typeof explicit>>().toBeUnknown()
    // a typed flow is still a FlowDefinition, a FlowDefinition<I> and fits createRunner's flows
    const flows: FlowDefinition[] = [quote, order, explicit]
    const typed: FlowDefinition<{ orderId: string }> = order
    expect([flows.length, typed.name]).toEqual([3, 'order'])
  })
})

describe('startFlow, ctx.invoke and runner.result take the types of a flow object', () => {
  it('runner.startFlow(flow, input) checks input (a name takes any input); ctx.invoke(flow, input) is typed by the flow', async () => {
    const store = createMemoryStreamStore()
    const parent = defineFlow({
      name: 'parent',
      steps: {
        buy: {
          handler: async (input: { sku: string }, ctx) => {
            const result = await ctx.invoke(quote, { sku: input.sku })
            expectTypeOf(result).toEqualTypeOf<{ total: { total: number }; audit: 'ok' }>()
            // @ts-expect-error: the flow's result has no `price` (only its sinks: total, audit)
            result.price
            typeOnly(async () => {
              // @ts-expect-error: qty is a number
              await ctx.invoke(quote, { sku: 'x', qty: '2' })
              // by name: any input, and the result is what the caller says (unknown by default)
              expectTypeOf(await ctx.invoke<number>('quote', { anything: true })).toEqualTypeOf<number>()
              expectTypeOf(await ctx.invoke('quote')).toBeUnknown()
            })
            return result.total.total
          },
        },
      },
    })
    const runner = createRunner({ store, flows: [quote, order, parent] })
    await runner.start()
    try {
      const { runId } = await runner.startFlow(quote, { sku: 'a-1', qty: 2 }, { runId: 'typed-1' })
      const result = await runner.result<FlowResult<typeof quote>>(runId, { timeout: '10s' })
      expect(result).toEqual({ total: { total: 48 }, audit: 'ok' })
      expect(await runner.result(await runner.startFlow(order, { orderId: 'o-1' }).then((r) => r.runId))).toEqual({
        ship: { trackingId: 'o-1/1' },
      })
      const bought = await runner.startFlow(parent, { sku: 'b-2' })
      expect(await runner.result(bought.runId, { timeout: '10s' })).toEqual({ buy: 24 })
      // the name still works, with any input (checked at run time only)
      await expect(runner.startFlow('quote', { sku: 42 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
      typeOnly(async () => {
        // @ts-expect-error: sku is a string
        await runner.startFlow(quote, { sku: 42 })
        // @ts-expect-error: the input is required (the schema refuses undefined)
        await runner.startFlow(quote)
        // @ts-expect-error: orderId is missing
        await runner.startFlow(order, {}, { runId: 'r' })
        // @ts-expect-error: not an option of startFlow
        await runner.startFlow(order, { orderId: 'o' }, { priorty: 1 })
      })
    } finally {
      await runner.stop()
      await store.close()
    }
  })

  it('a flow whose input may be undefined starts without one', async () => {
    const store = createMemoryStreamStore()
    const tick = defineFlow({ name: 'tick', steps: { at: { handler: async () => 'ticked' } } })
    const runner = createRunner({ store, flows: [tick] })
    await runner.start()
    try {
      const { runId } = await runner.startFlow(tick)
      expect(await runner.result(runId, { timeout: '10s' })).toEqual({ at: 'ticked' })
    } finally {
      await runner.stop()
      await store.close()
    }
  })

  it('a flow object unknown to the runner is FLOW_NOT_FOUND, as its name would be', async () => {
    const store = createMemoryStreamStore()
    const runner = createRunner({ store, flows: [order] })
    await expect(runner.startFlow(quote, { sku: 'a' })).rejects.toMatchObject({ code: 'FLOW_NOT_FOUND' })
    await store.close()
  })

  it('StepContext stays usable on its own (ctx.results is a record of unknown)', () => {
    expectTypeOf<StepContext['results']>().toEqualTypeOf<Readonly<Record<string, unknown>>>()
  })

  it('ctx.results is typed by step name when the handler annotates ctx; the flow is still inferred', () => {
    type Results = FlowStepResults<typeof order>
    const fulfil = defineFlow({
      name: 'fulfil',
      steps: {
        charge: { handler: async (input: { orderId: string }) => ({ chargeId: `ch-${input.orderId}` }) },
        ship: {
          needs: ['charge'],
          handler: async (_input: { orderId: string }, ctx: StepContext<Pick<Results, 'charge'>>) => {
            expectTypeOf(ctx.results.charge).toEqualTypeOf<{ chargeId: string }>()
            // @ts-expect-error: not in the annotated results
            ctx.results.ship
            return { label: ctx.results.charge.chargeId }
          },
        },
      },
    })
    expectTypeOf<FlowResult<typeof fulfil>>().toEqualTypeOf<{ ship: { label: string } }>()
    expectTypeOf<FlowInput<typeof fulfil>>().toEqualTypeOf<{ orderId: string }>()
  })
})

describe('in-code schedules', () => {
  it("a schedule's input is checked against the flow's input (a value, or what its function returns)", () => {
    const handler = async (input: { tenant: string }) => input.tenant
    typeOnly(() => {
      defineFlow({ name: 'ok', schedules: [{ id: 'a', every: '1h', input: { tenant: 'acme' } }], steps: { s: { handler } } })
      defineFlow({
        name: 'ok-fn',
        schedules: [{ id: 'b', every: '1h', input: async (t) => ({ tenant: t.id }) }],
        steps: { s: { handler } },
      })
      // by its schema's input (before defaults): qty may be left out
      defineFlow({
        name: 'ok-schema',
        input: quoteInput,
        schedules: [{ id: 'c', every: '1h', input: { sku: 'a' } }],
        steps: { s: { handler: () => 1 } },
      })
      // a flow without a typed input takes any input
      defineFlow({ name: 'any', schedules: [{ id: 'd', every: '1h', input: (t) => t.at.getTime() }], steps: { s: { handler: () => 1 } } })
      // @ts-expect-error: tenant is a string
      defineFlow({ name: 'bad', schedules: [{ id: 'e', every: '1h', input: { tenant: 1 } }], steps: { s: { handler } } })
      // no input for a flow whose input is required (as startFlow(flow) without one)
      // @ts-expect-error: input is missing
      defineFlow({ name: 'no-input', schedules: [{ id: 'h', every: '1h' }], steps: { s: { handler } } })
      // a list declared apart, typed with the flow's input
      const shared: ScheduleDefinition<{ tenant: string }>[] = [{ id: 'j', every: '1h', input: { tenant: 'acme' } }]
      defineFlow({ name: 'shared', schedules: shared, steps: { s: { handler } } })
      // an optional input may be left out
      defineFlow({ name: 'opt-input', schedules: [{ id: 'i', every: '1h' }], steps: { s: { handler: async (i?: { n: number }) => i?.n } } })
      // @ts-expect-error: the function's value has no tenant
      defineFlow({ name: 'bad-fn', schedules: [{ id: 'f', every: '1h', input: () => ({ day: 'x' }) }], steps: { s: { handler } } })
      defineFlow({
        name: 'bad-schema',
        input: quoteInput,
        // @ts-expect-error: the schema needs a sku
        schedules: [{ id: 'g', every: '1h', input: { qty: 2 } }],
        steps: { s: { handler: () => 1 } },
      })
    })
  })

  it("an input function's tick is typed without an annotation ({ id: string; at: Date }), as it is at run time", async () => {
    const store = createMemoryStreamStore()
    const report = defineFlow({
      name: 'report',
      schedules: [
        {
          id: 'nightly',
          cron: '0 3 * * *',
          input: (tick) => {
            expectTypeOf(tick).toEqualTypeOf<ScheduleTick>()
            return { schedule: tick.id, day: tick.at.toISOString().slice(0, 10), isDate: tick.at instanceof Date }
          },
        },
      ],
      steps: { build: { handler: async (input: { schedule: string; day: string; isDate: boolean }) => input } },
    })
    const runner = createRunner({ store, flows: [report] })
    await runner.start()
    try {
      const { runId } = await runner.schedules.trigger('nightly')
      expect(await runner.result(runId, { timeout: '10s' })).toEqual({
        build: { schedule: 'nightly', day: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/), isDate: true },
      })
    } finally {
      await runner.stop()
      await store.close()
    }
  })
})
