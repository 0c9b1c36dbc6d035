// A trigger resolved while its step waits on other awaits (the handler calls `wait()` later) must
// leave the step's `pending` awaits: the log gets its `step.resumed` (with its position) as it is
// resolved, so a browser folding the SSE stream, and GET /runs/:runId, never show the step
// awaiting a trigger that POST /triggers/:id already answered 200 (nor the run `awaiting` while
// the handler runs on). On the memory store and on a real redis-server, through a real
// node:http server and fetch.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import type { EventRecord, FlowState } from '@leanflow/core'
import { createHandler } from '@leanflow/http'
import { toNodeHandler } from '@leanflow/http/node'
import { defineFlow } from '@leanflow/runner'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { describeOnStores } from '../fixtures/runnerOnStores.js'

/** Hands out a trigger, waits for the event `go` first, then for the trigger, then for `hold`. */
const approve = defineFlow({
  name: 'approve',
  steps: {
    ask: {
      handler: async (_input, ctx) => {
        const approval = await ctx.await.trigger<{ ok: boolean }>({ type: 'approval', timeout: '1h' })
        await ctx.await.event({ kind: 'go', timeout: '1h' })
        const answer = await approval.wait()
        await ctx.await.event({ kind: 'hold', timeout: '1h' })
        return answer
      },
    },
  },
})

/** Lets `approveLate`'s first `ctx.do` end, by the run's input `gate` (the test resolves the trigger while it runs). */
const gates = new Map<string, { open: () => void; opened: Promise<void> }>()
function gate(name: string): { open: () => void; opened: Promise<void> } {
  let open: () => void = () => {}
  const opened = new Promise<void>((resolve) => {
    open = resolve
  })
  gates.set(name, { open, opened })
  return { open, opened }
}
/** Hands out a trigger and runs on (a `ctx.do`), then waits for `go`, for the trigger, then for `hold`. */
const approveLate = defineFlow({
  name: 'approve-late',
  steps: {
    ask: {
      handler: async (input, ctx) => {
        const approval = await ctx.await.trigger<{ ok: boolean }>({ type: 'approval', timeout: '1h' })
        await ctx.do('mail', async () => {
          await gates.get((input as { gate: string }).gate)?.opened
          return 'sent'
        })
        await ctx.await.event({ kind: 'go-late', timeout: '1h' })
        const answer = await approval.wait()
        await ctx.await.event({ kind: 'hold-late', timeout: '1h' })
        return answer
      },
    },
  },
})

const post = (body: unknown): RequestInit => ({
  method: 'POST',
  body: JSON.stringify(body),
  headers: { 'content-type': 'application/json' },
})

describeOnStores({ flows: [approve, approveLate], prefix: 'quiet-trigger' }, (runner, store) => {
  let server: http.Server
  let base = ''
  beforeAll(async () => {
    server = http.createServer(toNodeHandler(createHandler({ store: store(), runner: runner() })))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/flows`
  })
  afterAll(async () => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  })
  /** Polls the run's state until `ok` holds of it. */
  const stateWhen = async (runId: string, ok: (s: FlowState) => boolean): Promise<FlowState> => {
    for (const deadline = Date.now() + 10_000; ; ) {
      const s = await stateOf(runId)
      if (ok(s)) return s
      if (Date.now() > deadline) throw new Error(`run ${runId} never got there: ${JSON.stringify(s)}`)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }
  const stateOf = async (runId: string): Promise<FlowState> =>
    ((await (await fetch(`${base}/runs/${runId}`)).json()) as { state: FlowState }).state

  it('a trigger resolved while the step waits on another await leaves pending as it is resolved', async () => {
    const { runId } = (await (await fetch(`${base}/approve/runs`, post({}))).json()) as { runId: string }
    const asking = await stateWhen(runId, (s) => s.steps.ask?.pending?.length === 2)
    const triggerId = asking.steps.ask?.pending?.find((a) => a.type === 'trigger')?.triggerId
    const resolved = await fetch(`${base}/triggers/${triggerId}`, post({ ok: true }))
    expect(resolved.status).toBe(200)
    // answered: the trigger left the step's pending awaits, which still waits on `go`
    const waiting = await stateWhen(runId, (s) => s.steps.ask?.pending?.length === 1)
    expect(waiting.steps.ask).toMatchObject({ status: 'awaiting', pending: [{ type: 'event', eventKind: 'go', position: 1 }] })
    expect((await fetch(`${base}/events`, post({ kind: 'go' }))).status).toBe(202)

    // the step went past the trigger's wait() and now waits on `hold` alone
    const holding = await stateWhen(runId, (s) => s.steps.ask?.pending?.some((a) => a.position === 2) === true)
    expect(holding.steps.ask?.pending).toEqual([expect.objectContaining({ type: 'event', eventKind: 'hold', position: 2 })])
    const { events } = (await (await fetch(`${base}/runs/${runId}/events`)).json()) as { events: EventRecord[] }
    const resumed = events.filter((e) => e.kind === 'step.resumed').map((e) => (e.data as { position?: number }).position)
    expect(resumed.sort()).toEqual([0, 1])

    expect((await fetch(`${base}/events`, post({ kind: 'hold' }))).status).toBe(202)
    const done = await stateWhen(runId, (s) => s.status === 'completed')
    expect(done.steps.ask?.result).toEqual({ ok: true })
  })

  it('a trigger resolved while the step runs, which then waits on another await, leaves pending when the step resumes', async () => {
    const name = `mail-${gates.size}`
    const mail = gate(name)
    const { runId } = (await (await fetch(`${base}/approve-late/runs`, post({ gate: name }))).json()) as { runId: string }
    const asking = await stateWhen(runId, (s) => s.steps.ask?.pending?.length === 1)
    const triggerId = asking.steps.ask?.pending?.[0]?.triggerId
    expect((await fetch(`${base}/triggers/${triggerId}`, post({ ok: true }))).status).toBe(200)
    mail.open()
    await stateWhen(runId, (s) => s.steps.ask?.pending?.some((a) => a.position === 2) === true)
    expect((await fetch(`${base}/events`, post({ kind: 'go-late' }))).status).toBe(202)

    const holding = await stateWhen(runId, (s) => s.steps.ask?.pending?.some((a) => a.position === 3) === true)
    expect(holding.steps.ask?.pending).toEqual([expect.objectContaining({ type: 'event', eventKind: 'hold-late', position: 3 })])
    expect((await fetch(`${base}/events`, post({ kind: 'hold-late' }))).status).toBe(202)
    const done = await stateWhen(runId, (s) => s.status === 'completed')
    expect(done.steps.ask?.result).toEqual({ ok: true })
  })
})
