// `pnpm demo --once`: one order end to end, headless and in memory. Its `bill` step invokes one
// `invoice` child run per line; the payment event and the approval trigger are resolved through
// the runner API as soon as the run awaits them.
import { type EventRecord, reduceFlow } from '@leanflow/core'
import { createBackend } from './backend.js'
import { FAST_TIMINGS } from './flows.js'

/** Options of {@link runOnce}. */
export interface RunOnceOptions {
  /** Gives up after this long. @default 60_000 */
  timeoutMs?: number
  /** @default console.log */
  log?: (line: string) => void
}

/**
 * Runs one `order` flow to its end; `ok` when the run and every step completed.
 *
 * @example
 * ```ts
 * const { ok, state } = await runOnce()
 * process.exit(ok ? 0 : 1)
 * ```
 */
export async function runOnce(opts: RunOnceOptions = {}) {
  const log = opts.log ?? console.log
  // No server listens in --once: the curl line (printed by a server) is left out; the step still logs it.
  const backend = createBackend({ timings: FAST_TIMINGS, baseUrl: `http://localhost:${process.env.PORT ?? 3000}`, log: () => {} })
  const { runner, store } = backend
  const signal = AbortSignal.timeout(opts.timeoutMs ?? 60_000)
  try {
    await runner.start()
    const orderId = 'o-once-1'
    const { runId } = await runner.startFlow('order', {
      orderId,
      customerId: 'c-1',
      customer: 'Ada Lovelace',
      amount: 42.5,
      items: ['notebook', 'pen'],
      lines: [
        { sku: 'notebook', qty: 2, unitPrice: 12.5 },
        { sku: 'pen', qty: 5, unitPrice: 3.5 },
      ],
    })
    log(`[once] started run ${runId}`)
    let last: EventRecord | undefined
    for await (const e of store.follow(runId, { signal })) {
      last = e
      log(`[once] ${e.id.padEnd(16)} ${e.kind}${e.step ? ` [${e.step}]` : ''}${summary(e)}`)
      if (e.kind === 'step.await.event') {
        const { id } = await runner.publishEvent({ kind: 'payment.confirmed', data: { orderId } })
        log(`[once] published payment.confirmed ${id}`)
      }
      if (e.kind === 'step.await.trigger') {
        const { triggerId } = e.data as { triggerId: string }
        await runner.resolveTrigger(triggerId, { approved: true, by: 'demo --once' })
        log(`[once] resolved trigger ${triggerId}`)
      }
      if (e.kind === 'flow.completed' || e.kind === 'flow.failed' || e.kind === 'flow.canceled') break
    }
    const state = reduceFlow(await store.read(runId, { limit: 10_000 }))
    const steps = Object.values(state.steps)
    const ok = state.status === 'completed' && steps.length > 0 && steps.every((s) => s.status === 'completed')
    if (!ok && signal.aborted) log(`[once] timed out after ${opts.timeoutMs ?? 60_000} ms; last event: ${last?.kind ?? 'none'}`)
    return { ok, runId, state }
  } finally {
    await backend.close()
  }
}

function summary(e: EventRecord): string {
  const d = e.data as Record<string, unknown> | null
  if (!d || typeof d !== 'object') return ''
  if (e.kind === 'step.failed') return `: ${String(d.error)} (retry: ${String(d.willRetry)})`
  if (e.kind === 'log') return `: ${String(d.msg)}`
  if (e.kind === 'step.await.time') return `: until ${String(d.resumeAt)}`
  if (e.kind === 'step.await.event') return `: ${String(d.eventKind)}`
  if (e.kind === 'step.await.trigger') return `: ${String(d.triggerId)}`
  if (e.kind === 'step.await.run') return `: ${String(d.flow)} run ${String(d.childRunId)}`
  if (e.kind === 'step.resumed') return `: ${String(d.reason)}`
  return ''
}
