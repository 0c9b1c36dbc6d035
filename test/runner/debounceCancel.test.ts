// A debounced run canceled while it waits for its window (flow-control guarantee 5: "Canceling a
// queued run removes it from the queue"): the next call with the key starts a new run, which runs
// with that call's input. Before, the window stayed open until it came due (and each call moved
// it on): later calls folded into the canceled run, answered { runId: <canceled>, deduplicated:
// true }, and appended flow.debounced after its flow.canceled, so nothing ever ran them.
import { isTerminalKind } from '@leanflow/core'
import { defineFlow } from '@leanflow/runner'
import { expect, it } from 'vitest'
import { waitEnd } from '../fixtures/runnerKit.js'
import { describeOnStores } from '../fixtures/runnerOnStores.js'

const ran: unknown[] = []
const notify = defineFlow({
  name: 'notify',
  debounce: { period: '400ms', key: (input: { user: string; n: number }) => input.user },
  steps: {
    send: {
      handler: async (input: { user: string; n: number }) => {
        ran.push(input)
        return input.n
      },
    },
  },
})

describeOnStores({ flows: [notify], prefix: 'debcancel' }, (runner, store) => {
  it('a call after the cancel starts a new run with its input; the canceled log ends at flow.canceled', async () => {
    ran.length = 0
    const first = await runner().startFlow('notify', { user: 'ann', n: 1 })
    expect(await runner().startFlow('notify', { user: 'ann', n: 2 })).toEqual({ runId: first.runId, deduplicated: true })
    await runner().cancel(first.runId, 'changed my mind')

    const next = await runner().startFlow('notify', { user: 'ann', n: 3 })
    expect(next.deduplicated).toBeUndefined()
    expect(next.runId).not.toBe(first.runId)
    expect(await runner().startFlow('notify', { user: 'ann', n: 4 })).toEqual({ runId: next.runId, deduplicated: true })
    expect(await runner().result(next.runId, { timeout: '10s' })).toEqual({ send: 4 })
    expect(ran).toEqual([{ user: 'ann', n: 4 }])

    const log = await store().read(first.runId)
    expect(log.map((e) => e.kind)).toEqual(['flow.started', 'flow.queued', 'flow.debounced', 'flow.canceled'])
    expect(isTerminalKind((await waitEnd(store(), first.runId)).kind)).toBe(true)
  })
})
