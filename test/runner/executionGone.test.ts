// A handler that keeps going after its execution ended (it ignores ctx.signal): its later ctx
// calls reject with a typed error, NonRetriableError (code NON_RETRIABLE, as a fenced append is),
// saying why and what to do, and record nothing. Before, they rejected with an untyped internal
// error (`code` undefined, `isLeanflowError` false). The run canceled, or failed by another step.
import { isLeanflowError, NonRetriableError } from '@leanflow/core'
import { defineFlow, type StepContext } from '@leanflow/runner'
import { expect, it } from 'vitest'
import { deferred, logOf, waitEnd } from '../fixtures/runnerKit.js'
import { describeOnStores } from '../fixtures/runnerOnStores.js'
import { waitFor } from '../helpers/waitFor.js'

type Probe = {
  started: ReturnType<typeof deferred<void>>
  release: ReturnType<typeof deferred<void>>
  caught: unknown[]
  ran: number
  signal?: AbortSignal
}
const probes = new Map<string, Probe>()
const probe = (key: string): Probe => {
  let p = probes.get(key)
  if (!p) probes.set(key, (p = { started: deferred(), release: deferred(), caught: [], ran: 0 }))
  return p
}

/** A step that goes on after its run ended: each ctx call's rejection is kept. */
const zombie = async (input: { key: string }, ctx: StepContext) => {
  const p = probe(input.key)
  p.signal = ctx.signal
  p.started.resolve()
  await p.release.promise
  const calls: Array<() => Promise<unknown>> = [
    () => ctx.do('effect', async () => ++p.ran),
    () => ctx.state.set('k', 1),
    () => ctx.emit('after.end', {}),
    () => ctx.await.time('1s'),
  ]
  for (const call of calls) await call().catch((err: unknown) => p.caught.push(err))
  return 'late'
}
const lingers = defineFlow<{ key: string }>({ name: 'lingers', steps: { z: { handler: zombie } } })
const fails = defineFlow<{ key: string }>({
  name: 'fails',
  steps: {
    z: { handler: zombie },
    boom: {
      retry: { attempts: 1 },
      handler: async (input) => {
        await probe(input.key).started.promise
        throw new NonRetriableError('boom')
      },
    },
  },
})

/** A step that runs past its timeout (its one attempt), then makes its ctx calls. */
const slow = defineFlow<{ key: string }>({ name: 'slow', steps: { z: { handler: zombie, timeout: 50, retry: { attempts: 1 } } } })

function expectTyped(p: Probe, why: 'ended' | 'timeout' = 'ended') {
  expect(p.caught).toHaveLength(4)
  for (const err of p.caught) {
    expect(isLeanflowError(err, 'NON_RETRIABLE'), String(err)).toBe(true)
    expect(err).toBeInstanceOf(NonRetriableError)
    expect((err as { why?: string }).why).toBe(why)
    const said = why === 'ended' ? 'ended: its run ended' : 'timeout: the step ran longer than its timeout'
    expect((err as Error).message).toContain(`no longer current (${said}`)
    expect((err as Error).message).toMatch(/Stop work once ctx\.signal aborts/)
  }
  expect(p.ran).toBe(0)
}

describeOnStores({ flows: [lingers, fails, slow], prefix: 'gone' }, (runner, store) => {
  it('the step ran past its timeout: its later ctx calls say so (why "timeout"), not that another worker took it over', async () => {
    const key = `timeout-${Math.random()}`
    const p = probe(key)
    const { runId } = await runner().startFlow('slow', { key })
    await p.started.promise
    await waitFor(() => p.signal?.aborted === true, 'the step told (ctx.signal)')
    p.release.resolve()
    await waitFor(() => p.caught.length === 4, 'every late call settled')
    expectTyped(p, 'timeout')
    expect((await waitEnd(store(), runId)).kind).toBe('flow.failed')
  })

  it('the run canceled under a running step: its later ctx calls are NonRetriableError, nothing recorded', async () => {
    const key = `cancel-${Math.random()}` // one per store block
    const p = probe(key)
    const { runId } = await runner().startFlow('lingers', { key })
    await p.started.promise
    await runner().cancel(runId, 'stop')
    await waitFor(() => p.signal?.aborted === true, 'the step told (ctx.signal)')
    p.release.resolve()
    await waitFor(() => p.caught.length === 4, 'every late call settled')
    expectTyped(p)
    const log = await logOf(store(), runId)
    expect(log.at(-1)?.kind).toBe('flow.canceled')
    expect(log.some((e) => e.kind === 'after.end' || e.kind === 'state.set' || e.kind === 'step.await.time')).toBe(false)
  })

  it('the run failed by another step: likewise', async () => {
    const key = `fail-${Math.random()}`
    const p = probe(key)
    const { runId } = await runner().startFlow('fails', { key })
    expect((await waitEnd(store(), runId)).kind).toBe('flow.failed')
    // told a moment after the end is stored (the effect of a call made before that may run: its record is refused)
    await waitFor(() => p.signal?.aborted === true, 'the step told (ctx.signal)')
    p.release.resolve()
    await waitFor(() => p.caught.length === 4, 'every late call settled')
    expectTyped(p)
  })
})
