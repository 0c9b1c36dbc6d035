// `runner.result` answers once this process's observers (`runner.observe`, which @leanflow/otel
// is) were told of the run's end, when this process appended it: a test that reads its spans, or
// a script that flushes them and exits, right after `await runner.result(…)` finds the run's
// last spans. Before, result often settled first (the observers are told after the append's
// reply, the follow that result reads may see the end sooner): a third of step-timeout runs.
import type { Runner } from '@leanflow/runner'
import { defineFlow } from '@leanflow/runner'
import { expect, it } from 'vitest'
import { describeOnStores } from '../fixtures/runnerOnStores.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const flows = [
  defineFlow({ name: 'ok', steps: { a: { handler: async () => 1 }, b: { needs: ['a'], handler: async () => 2 } } }),
  defineFlow({ name: 'timesOut', steps: { t: { timeout: '40ms', retry: { attempts: 1 }, handler: () => sleep(300) } } }),
  defineFlow({
    name: 'throws',
    steps: {
      x: {
        retry: { attempts: 1 },
        handler: async () => {
          throw new Error('no')
        },
      },
    },
  }),
]
const ended = new Set<string>()
const observe = async (runner: Runner) => {
  runner.observe({ onEvent: (e) => void (/^flow\.(completed|failed|canceled)$/.test(e.kind) && ended.add(e.flow)) })
}

describeOnStores({ flows, prefix: 'observed', setup: observe }, (runner) => {
  it('has told the observers of the run’s end when its result settles: completed, failed, timed out, canceled', async () => {
    const early: string[] = []
    for (let i = 0; i < 8; i++) {
      for (const flow of ['ok', 'timesOut', 'throws', 'cancel']) {
        const { runId } = await runner().startFlow(flow === 'cancel' ? 'timesOut' : flow, {})
        if (flow === 'cancel') void runner().cancel(runId, 'by the test')
        await runner()
          .result(runId, { timeout: '10s' })
          .catch(() => {})
        if (!ended.has(runId)) early.push(`${flow} ${runId}`)
      }
    }
    expect(early).toEqual([])
  })
})
