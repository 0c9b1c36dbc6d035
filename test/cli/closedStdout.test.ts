// `leanflow … | head`: the reader of its stdout goes away while it writes. The CLI stops quietly
// (no Node stack trace on stderr), as a Unix tool does: a one-shot command with its exit code, a
// `tail` of a live run as interrupted (130) instead of following on with nobody reading. And a
// reader that reads gets all of it: the process exits only once its output left it.
import { createRedisStreamStore, type RedisStreamStore } from '@leanflow/redis'
import { createRunner, defineFlow, type Runner } from '@leanflow/runner'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { waitEnd, waitKind } from '../fixtures/runnerKit.js'
import { useRedisServer } from '../helpers/redisServer.js'
import { buildCli, leanflow, removeCli } from './cliProcess.js'

const redis = useRedisServer()
const prefix = `pipe${Date.now().toString(36)}`
let store: RedisStreamStore
let runner: Runner

const quick = defineFlow({ name: 'quick', steps: { a: { handler: async () => 'done' } } })
const slow = defineFlow({ name: 'slow', steps: { sleep: { handler: async (_i, ctx) => ctx.await.time('1h') } } })
// a long log, so a tail's reader leaves long before its end is printed
const chatty = defineFlow<{ fail?: boolean }>({
  name: 'chatty',
  steps: {
    a: {
      retry: { attempts: 1 },
      handler: async (input, ctx) => {
        for (let i = 0; i < 3000; i++) ctx.logger.info(`line ${i}`)
        if (input.fail) throw new Error('chatty failed')
        return 'done'
      },
    },
  },
})
const g = () => ['--redis', redis.url, '--prefix', prefix]

beforeAll(async () => {
  await buildCli()
  store = createRedisStreamStore({ url: redis.url, prefix })
  runner = createRunner({ store, flows: [quick, slow, chatty], onError: () => {} })
  await runner.start()
  const runs = await Promise.all(Array.from({ length: 30 }, () => runner.startFlow(quick, undefined)))
  await Promise.all(runs.map(({ runId }) => waitEnd(store, runId)))
})

afterAll(async () => {
  await runner?.stop()
  await store?.close()
  removeCli()
})

it('a command whose stdout reader is gone exits with its code and no stack trace', async () => {
  const rs = await Promise.all([
    leanflow(['runs', 'quick', '--limit', '30', ...g()], { closeStdout: true }),
    leanflow(['flows', '--json', ...g()], { closeStdout: true }),
  ])
  for (const r of rs) {
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
  }
})

it('tail of a live run whose stdout reader is gone ends as interrupted (130) instead of following on', async () => {
  const { runId } = await runner.startFlow(slow, undefined)
  await waitKind(store, runId, 'step.await.time')
  const r = await leanflow(['tail', runId, ...g()], { closeStdout: true, timeoutMs: 10_000 })
  expect(r.stderr).toBe('')
  expect(r.code).toBe(130)
})

it('tail of a run that had ended, whose stdout reader is gone: it exits with how the run ended (0, 1), not 130', async () => {
  const [ok, failed] = await Promise.all([runner.startFlow(chatty, {}), runner.startFlow(chatty, { fail: true })])
  await Promise.all([waitEnd(store, ok.runId), waitEnd(store, failed.runId)])
  for (const [runId, code] of [
    [ok.runId, 0],
    [failed.runId, 1],
  ] as const) {
    const r = await leanflow(['tail', runId, ...g()], { closeStdout: true, timeoutMs: 10_000 })
    expect(r.stderr).toBe('')
    expect(r.code, runId).toBe(code)
  }
})

it('a large --json output read through a pipe comes whole (it was cut at 64 KiB: the process exited before the pipe took it)', async () => {
  const big = { note: 'x'.repeat(900_000) }
  const { runId } = await runner.startFlow(quick, big)
  await waitEnd(store, runId)
  const [show, tail] = await Promise.all([leanflow(['show', runId, '--json', ...g()]), leanflow(['tail', runId, '--json', ...g()])])
  expect(show.code).toBe(0)
  expect(JSON.parse(show.stdout).state.input).toEqual(big)
  expect(tail.code).toBe(0)
  const events = tail.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line))
  expect(events[0].data.input).toEqual(big)
  expect(events.at(-1).kind).toBe('flow.completed')
  // a reader that takes nothing, then an interrupt: the CLI ends at once, interrupted (130), not as a success
  // (one that did not end on the interrupt would be SIGKILLed at timeoutMs: no exit code)
  const stalled = await leanflow(['show', runId, '--json', ...g()], { stallThenInterruptMs: 500, timeoutMs: 15_000 })
  expect(stalled.code).toBe(130)
})
