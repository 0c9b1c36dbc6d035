// A flow whose runs are in the store but which the handler's runner does not hold (retired,
// renamed, or run by another service): GET / lists it, so its runs and counts are read like any
// other flow's (they are store reads). They answered 404 FLOW_NOT_FOUND, and the dashboard showed
// a flow it could not open. A name with no runs and no definition is still 404 (a typo).
import { createHandler } from '@leanflow/http'
import { createRunner, defineFlow } from '@leanflow/runner'
import { beforeAll, expect, it } from 'vitest'
import { describeOnStores } from '../fixtures/runnerOnStores.js'
import { describeMatrix, errorOf } from '../helpers/httpMatrix.js'

const current = defineFlow({ name: 'current', steps: { only: { handler: async () => 1 } } })
const legacy = defineFlow({ name: 'legacy', steps: { only: { handler: async () => 'old' } } })

describeOnStores({ flows: [current], prefix: 'retired' }, (runner, store) => {
  let legacyRun = ''
  beforeAll(async () => {
    // another service (or the deploy before this one) ran `legacy` on the same store
    const other = createRunner({ store: store(), flows: [legacy], onError: () => {} })
    await other.start()
    legacyRun = (await other.startFlow(legacy, {})).runId
    await other.result(legacyRun, { timeout: '10s' })
    await other.stop()
  })
  describeMatrix(
    'a flow the store has and the runner does not',
    () => createHandler({ store: store(), runner: runner() }),
    (t) => {
      it('is listed, and its runs and counts are read; an unknown name is still 404', async () => {
        const flows = (await (await t().fetch('/flows/')).json()) as { flows: Array<{ flow: string; runs: number }> }
        expect(flows.flows).toEqual(expect.arrayContaining([{ flow: 'legacy', runs: 1 }]))
        const runs = await t().fetch('/flows/legacy/runs')
        expect(runs.status).toBe(200)
        expect(((await runs.json()) as { runs: Array<{ runId: string }> }).runs.map((r) => r.runId)).toEqual([legacyRun])
        const filtered = await t().fetch('/flows/legacy/runs?status=running')
        expect(filtered.status).toBe(200)
        const counts = await t().fetch('/flows/legacy/counts')
        expect(counts.status).toBe(200)
        expect(await counts.json()).toMatchObject({ flow: 'legacy', runs: 1, statuses: { completed: 1 } })
        const typo = await t().fetch('/flows/legacyy/runs')
        expect(typo.status).toBe(404)
        expect(await errorOf(typo)).toMatchObject({ code: 'FLOW_NOT_FOUND', message: expect.stringContaining('current') })
        expect((await t().fetch('/flows/legacyy/counts')).status).toBe(404)
      })
    },
  )
})
