/**
 * The flows of the version fault tests (test/faults/versions.test.ts), shared by the worker
 * processes (versionWorker.ts) and the test's producer. Every step notes in Redis which code ran
 * it, in which process: `RPUSH <prefix>:ran:<runId> "<code>:<step>:<pid>"`; `ctx.do` effects go
 * to `<prefix>:effects:<runId>`.
 */
import type { Redis } from 'ioredis'
import { defineFlow, type FlowDefinition } from '../../packages/runner/src/index.js'

export interface VersionFlowOptions {
  /** Which versions of `order` to hold (default both). */
  versions?: number[]
  /** Whether `pay` holds the `ctx.patched('fraud-check')` branch (the deploy after). */
  patched?: boolean
  /** Called inside a step's `ctx.do` effect (after the effect, before it is recorded): a kill point. */
  inEffect?: (runId: string, step: string) => Promise<void>
}

export function versionFlows(redis: Redis, prefix: string, opts: VersionFlowOptions = {}): FlowDefinition[] {
  const ran = (runId: string, code: string, step: string) => redis.rpush(`${prefix}:ran:${runId}`, `${code}:${step}:${process.pid}`)
  const effect = async (runId: string, step: string) => {
    await redis.rpush(`${prefix}:effects:${runId}`, step)
    await opts.inEffect?.(runId, step)
    return step
  }
  const order = (version: number) =>
    defineFlow({
      name: 'order',
      version,
      steps: {
        reserve: {
          handler: async (_i, ctx) => {
            await ran(ctx.runId, `v${version}`, 'reserve')
            return `reserved by v${version}`
          },
        },
        charge: {
          needs: ['reserve'],
          handler: async (_i, ctx) => {
            await ran(ctx.runId, `v${version}`, 'charge')
            return `charged by v${version}`
          },
        },
      },
    })
  const pay = defineFlow({
    name: 'pay',
    steps: {
      charge: {
        retry: { attempts: 1 },
        handler: async (_i, ctx) => {
          await ran(ctx.runId, opts.patched ? 'patched' : 'old', 'charge')
          if (opts.patched && ctx.patched('fraud-check')) await ctx.do('fraud', () => effect(ctx.runId, 'fraud'))
          const paid = await ctx.await.event<{ ok: boolean }>({ kind: 'paid' })
          await ctx.do('receipt', () => effect(ctx.runId, 'receipt'))
          return paid.data.ok
        },
      },
    },
  })
  const step = (name: string, needs: string[], value: (results: Record<string, unknown>) => unknown) => ({
    needs,
    retry: { attempts: 1 },
    handler: async (
      _input: unknown,
      ctx: { runId: string; results: Record<string, unknown>; do: <T>(n: string, f: () => Promise<T>) => Promise<T> },
    ) => {
      await ran(ctx.runId, 'pipeline', name)
      if (name === 'b' && (await redis.get(`${prefix}:fail`)) === '1') throw new Error('b fails on the flag')
      await ctx.do(`effect-${name}`, () => effect(ctx.runId, name))
      return value(ctx.results)
    },
  })
  const pipeline = defineFlow({
    name: 'pipeline',
    steps: {
      a: step('a', [], () => ({ at: 'a', list: [3, 1, 2], nested: { z: 1, a: 2 } })),
      // b also needs d, so d has completed before b fails (the rerun from b then copies a and d, always)
      b: step('b', ['a', 'd'], (r) => ({ b: (r.a as { list: number[] }).list.length })),
      c: step('c', ['b'], (r) => ({ c: r.b })),
      d: step('d', [], () => 'd'),
    },
  })
  // awaits a trigger (the publish and resolve kill points of test/faults/publish.test.ts)
  const approve = defineFlow({
    name: 'approve',
    steps: {
      wait: {
        retry: { attempts: 1 },
        handler: async (_i, ctx) => {
          const t = await ctx.await.trigger<{ ok: boolean }>({ type: 'webhook' })
          const { ok } = await t.wait()
          await ctx.do('receipt', () => effect(ctx.runId, 'receipt'))
          return ok
        },
      },
    },
  })
  return [...(opts.versions ?? [1, 2]).map(order), pay, pipeline, approve]
}
