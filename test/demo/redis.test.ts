// The demo on Redis: a `--worker` process (no HTTP) executes every step of a run that this
// process starts and drives through the runner API without ever calling `runner.start()`, and
// the `invoice` child runs its `bill` step invokes; a customer's second order waits (queued) for
// the first across the two processes.
import { type ChildProcess, spawn } from 'node:child_process'
import { resolve } from 'node:path'
import { reduceFlow } from '@leanflow/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Backend, createBackend } from '../../examples/order-approval/backend.js'
import { FAST_TIMINGS } from '../../examples/order-approval/flows.js'
import { useRedisServer } from '../helpers/redisServer.js'

const root = resolve(import.meta.dirname, '../..')
const redis = useRedisServer()
let worker: ChildProcess
let workerOut = ''
let producer: Backend

beforeAll(async () => {
  worker = spawn(process.execPath, ['--import', 'tsx', 'examples/order-approval/main.ts', '--worker'], {
    cwd: root,
    env: { ...process.env, REDIS_URL: redis.url, PORT: '3999' },
  })
  worker.stdout?.on('data', (b) => (workerOut += b))
  worker.stderr?.on('data', (b) => (workerOut += b))
  await new Promise<void>((ok, fail) => {
    const check = setInterval(() => {
      if (workerOut.includes('[worker] executing steps')) ok()
      else if (worker.exitCode !== null) fail(new Error(`worker exited: ${workerOut}`))
      else return
      clearInterval(check)
    }, 50)
  })
  producer = createBackend({ redisUrl: redis.url, timings: FAST_TIMINGS, baseUrl: 'http://localhost:3999', log: () => {} })
}, 60_000)

afterAll(async () => {
  if (worker && worker.exitCode === null) {
    worker.kill('SIGKILL')
    await new Promise((ok) => worker.once('exit', ok))
  }
  await producer?.close()
})

describe('demo on Redis with a --worker process', () => {
  it('the worker executes a whole order and its invoice child runs; the producer resolves its event and trigger', async () => {
    const { runner, store } = producer
    const orderId = 'o-redis-1'
    const lines = [
      { sku: 'notebook', qty: 2, unitPrice: 12.5 },
      { sku: 'pen', qty: 5, unitPrice: 3.5 },
    ]
    const { runId } = await runner.startFlow('order', { orderId, lines })
    let triggerId: string | undefined
    for await (const e of store.follow(runId, { signal: AbortSignal.timeout(90_000) })) {
      if (e.kind === 'step.await.event') await runner.publishEvent({ kind: 'payment.confirmed', data: { orderId } })
      if (e.kind === 'step.await.trigger') {
        triggerId = (e.data as { triggerId: string }).triggerId
        await expect(runner.resolveTrigger(triggerId, { approved: true })).resolves.toEqual({ runId, step: 'approval' })
      }
      if (e.kind.startsWith('flow.') && e.kind !== 'flow.started') break
    }
    const state = reduceFlow(await store.read(runId, { limit: 10_000 }))
    expect(state.status).toBe('completed')
    for (const step of Object.values(state.steps)) expect(step.status).toBe('completed')
    expect(state.steps.charge?.attempt).toBe(3)
    expect(await store.listRuns('order')).toEqual([expect.objectContaining({ runId, status: 'completed' })])
    // one invoice run per line, children of the bill step, priced on the worker
    expect(state.steps.bill?.result).toEqual({ invoices: 2, total: 42.5 })
    const children = (await store.read(runId, { limit: 10_000 }))
      .filter((e) => e.kind === 'step.await.run')
      .map((e) => (e.data as { childRunId: string }).childRunId)
    expect(children).toHaveLength(2)
    for (const [i, childRunId] of children.entries()) {
      const child = reduceFlow(await store.read(childRunId, { limit: 10_000 }))
      expect(child).toMatchObject({ name: 'invoice', status: 'completed', parent: { runId, step: 'bill' } })
      expect(child.result).toEqual({ total: { sku: lines[i]?.sku, qty: lines[i]?.qty, amount: [25, 17.5][i] } })
    }
    // the worker's store printed the curl line for the trigger it created
    expect(workerOut).toContain(`curl -X POST http://localhost:3999/flows/triggers/${triggerId}`)
  })

  it("a customer's second order is queued until the first ends, then the worker runs it", async () => {
    const { runner, store } = producer
    /** Confirms the payment and approves the order as soon as the run awaits them; resolves at its end. */
    const drive = async (runId: string, orderId: string) => {
      for await (const e of store.follow(runId, { signal: AbortSignal.timeout(90_000) })) {
        if (e.kind === 'step.await.event') await runner.publishEvent({ kind: 'payment.confirmed', data: { orderId } })
        if (e.kind === 'step.await.trigger') await runner.resolveTrigger((e.data as { triggerId: string }).triggerId, { approved: true })
        if (e.kind.startsWith('flow.') && e.kind !== 'flow.started' && e.kind !== 'flow.queued') break
      }
      return reduceFlow(await store.read(runId, { limit: 10_000 }))
    }
    const first = await runner.startFlow('order', { orderId: 'o-q-1', customerId: 'c-9' })
    const second = await runner.startFlow('order', { orderId: 'o-q-2', customerId: 'c-9' })
    const queued = reduceFlow(await store.read(second.runId))
    expect(queued.status).toBe('queued')
    expect(queued.queued).toEqual({ reason: 'concurrency', key: 'c-9' })
    expect(await store.listRuns('order', { status: 'queued' })).toEqual([expect.objectContaining({ runId: second.runId })])
    expect((await runner.limits('order')).limits).toContainEqual({ scope: 'flow', kind: 'concurrency', key: 'c-9', active: 1, queued: 1 })

    const a = await drive(first.runId, 'o-q-1')
    expect(a.status).toBe('completed')
    const b = await drive(second.runId, 'o-q-2')
    expect(b.status).toBe('completed')
    // the second order started its first step after the first order ended
    const ended = Date.parse((await store.read(first.runId, { limit: 10_000 })).at(-1)?.ts ?? '')
    const begun = (await store.read(second.runId, { limit: 10_000 })).find((e) => e.kind === 'step.started')
    expect(Date.parse(begun?.ts ?? '')).toBeGreaterThanOrEqual(ended)
    // no slot left behind once both ended (the release follows the run's last event)
    await expect.poll(async () => (await runner.limits('order')).limits.filter((l) => l.key === 'c-9'), { timeout: 10_000 }).toEqual([])
  })

  it('the worker stops cleanly on SIGTERM', async () => {
    const exited = new Promise<number | null>((ok) => worker.once('exit', (code) => ok(code)))
    worker.kill('SIGTERM')
    expect(await exited).toBe(0)
  })
})
