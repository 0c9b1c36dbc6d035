import { createMemoryStreamStore } from '@leanflow/core'
import { defineFlow, type StepDefinition } from '@leanflow/runner'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { fastRetry, logOf, startRunner, waitEnd } from '../fixtures/runnerKit.js'

/** A random DAG: step i needs a subset of steps before it; each step fails its first `fails` tries. */
const dagArb = fc
  .integer({ min: 1, max: 8 })
  .chain((n) =>
    fc.tuple(
      fc.tuple(...Array.from({ length: n }, (_, i) => fc.subarray(Array.from({ length: i }, (_, j) => j)))),
      fc.array(fc.integer({ min: 0, max: 1 }), { minLength: n, maxLength: n }),
    ),
  )

describe('the runner on random DAGs (fast-check)', () => {
  it('every step runs after all it needs, sees their transitive results, completes once; the run completes with the sinks', async () => {
    let flowNo = 0
    await fc.assert(
      fc.asyncProperty(dagArb, async ([needs, fails]) => {
        const store = createMemoryStreamStore()
        const name = `dag${++flowNo}`
        const seen: Record<string, string[]> = {}
        const tries: Record<string, number> = {}
        const steps: Record<string, StepDefinition> = {}
        needs.forEach((deps, i) => {
          const step = `s${i}`
          steps[step] = {
            needs: deps.map((d) => `s${d}`),
            retry: fastRetry(2),
            handler: async (_input, ctx) => {
              tries[step] = (tries[step] ?? 0) + 1
              if (tries[step] <= (fails[i] ?? 0)) throw new Error(`fail ${step}`)
              seen[step] = Object.keys(ctx.results).sort()
              return i
            },
          }
        })
        const flow = defineFlow({ name, steps })
        const runner = await startRunner(store, [flow])
        try {
          const { runId } = await runner.startFlow(name, {})
          const end = await waitEnd(store, runId)
          expect(end.kind).toBe('flow.completed')
          const log = await logOf(store, runId)
          const ancestors = (i: number): Set<number> => new Set(needs[i]!.flatMap((d) => [d, ...ancestors(d)]))
          const needed = new Set(needs.flat())
          const sinks: Record<string, number> = {}
          for (let i = 0; i < needs.length; i++) {
            const step = `s${i}`
            expect(log.filter((e) => e.kind === 'step.completed' && e.step === step)).toHaveLength(1)
            expect(log.filter((e) => e.kind === 'step.started' && e.step === step)).toHaveLength(1 + (fails[i] ?? 0))
            const firstStart = log.findIndex((e) => e.kind === 'step.started' && e.step === step)
            for (const d of needs[i]!) {
              expect(log.findIndex((e) => e.kind === 'step.completed' && e.step === `s${d}`)).toBeLessThan(firstStart)
            }
            expect(seen[step]).toEqual([...ancestors(i)].map((a) => `s${a}`).sort())
            if (!needed.has(i)) sinks[step] = i
          }
          expect((end.data as { result: unknown }).result).toEqual(sinks)
        } finally {
          await runner.stop()
          await store.close()
        }
      }),
      { numRuns: 40 },
    )
  })
})
