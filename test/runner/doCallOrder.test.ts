// ctx.do calls in flight at once resolve in call order, each once its result and those before it
// are recorded (docs/runner.md): a Promise.race over them picks the first called, live as in the
// replay after a suspend, whichever fn finished first. On the memory store and a real redis-server.
import { defineFlow } from '@leanflow/runner'
import { expect, it } from 'vitest'
import { sleep } from '../fixtures/runnerKit.js'
import { describeOnStores } from '../fixtures/runnerOnStores.js'

const finished: string[] = []
/** The race's winner, in each execution of the step (the live one, then the replay). */
const won: string[] = []

const racing = defineFlow({
  name: 'racing',
  steps: {
    s: {
      handler: async (_input, ctx) => {
        const live = await Promise.race([
          ctx.do('slow', async () => {
            await sleep(80)
            finished.push('slow')
            return 'slow'
          }),
          ctx.do('fast', async () => {
            finished.push('fast')
            return 'fast'
          }),
        ])
        won.push(live)
        // a suspend and a resume: the step runs again from the top, both calls replayed from their records
        await ctx.await.time(300)
        return live
      },
    },
  },
})

describeOnStores({ flows: [racing], prefix: 'doorder' }, (runner) => {
  it('a race of two ctx.do gives the first called, though the other finished first, and its replay the same', async () => {
    finished.length = 0
    won.length = 0
    const { runId } = await runner().startFlow('racing', {})
    expect(await runner().result(runId, { timeout: '10s' })).toEqual({ s: 'slow' })
    // each fn ran once, the fast one first
    expect(finished).toEqual(['fast', 'slow'])
    // the live execution, then (once the step suspended on its timer, as it does unless the machine stalls 300 ms) the replay
    expect(won[0]).toBe('slow')
    expect(new Set(won)).toEqual(new Set(['slow']))
  })
})
