import { defineFlow, type FlowDefinition } from '@leanflow/runner'

/**
 * The runner benchmarks' flows: `noop10`, a chain of 10 no-op steps, and `sleepy`, one step
 * that awaits `ctx.await.time(input.ms)` (resume lateness).
 */
export function benchFlows(): FlowDefinition[] {
  const steps: Record<string, { needs?: string[]; handler: () => Promise<null> }> = {}
  for (let i = 0; i < 10; i++) steps[`s${i}`] = { needs: i === 0 ? [] : [`s${i - 1}`], handler: async () => null }
  const sleepy = defineFlow<{ ms: number }>({
    name: 'sleepy',
    steps: {
      nap: {
        handler: async (input, ctx) => {
          await ctx.await.time(input.ms)
          return null
        },
      },
    },
  })
  return [defineFlow({ name: 'noop10', steps }), sleepy]
}
