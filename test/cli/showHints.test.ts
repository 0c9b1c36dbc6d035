// `leanflow show` lists a run's pending awaits "with the command that satisfies each" (docs/cli.md).
// For an event await with a `match`, that command carries the data the match asks for: run as
// printed (with the --bullmq and --prefix options it needs), it resumes the step and the run completes.

import { execFileSync } from 'node:child_process'
import { createBullMQQueue } from '@leanflow/bullmq'
import { createRedisStreamStore, type RedisStreamStore } from '@leanflow/redis'
import { createRunner, defineFlow, type Runner } from '@leanflow/runner'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { waitEnd, waitKind } from '../fixtures/runnerKit.js'
import { useRedisServer } from '../helpers/redisServer.js'
import { buildCli, leanflow, removeCli } from './cliProcess.js'

const redis = useRedisServer()
const prefix = `hint${Date.now().toString(36)}`
const qprefix = `lfq${prefix}`
let store: RedisStreamStore
let runner: Runner
let queue: ReturnType<typeof createBullMQQueue>

const payment = defineFlow({
  name: 'payment',
  steps: {
    pay: {
      handler: async (input: { orderId: string }, ctx) =>
        (await ctx.await.event({ kind: 'payment.confirmed', match: { 'data.order.id': input.orderId, 'data.currency': "it's EUR" } })).data,
    },
  },
})
const g = () => ['--redis', redis.url, '--prefix', prefix]

beforeAll(async () => {
  await buildCli()
  store = createRedisStreamStore({ url: redis.url, prefix })
  queue = createBullMQQueue({ url: redis.url, prefix: qprefix })
  runner = createRunner({ store, queue, flows: [payment], onError: () => {} })
  await runner.start()
})

afterAll(async () => {
  await runner?.stop()
  await queue?.close()
  await store?.close()
  removeCli()
})

it("show prints the publish that satisfies an event await's match; run as printed, it completes the run", async () => {
  const { runId } = await runner.startFlow(payment, { orderId: 'o-7' })
  await waitKind(store, runId, 'step.await.event', 'pay')
  const show = await leanflow(['show', runId, ...g(), '--bullmq-prefix', qprefix])
  expect(show.code).toBe(0)
  const printed = /→ (leanflow publish .*)$/m.exec(show.stdout)
  expect(printed, show.stdout).not.toBeNull()
  // the words a POSIX shell passes on for the line as printed
  const argv = execFileSync('sh', ['-c', `printf '%s\\0' ${(printed as RegExpExecArray)[1]}`], { encoding: 'utf8' })
    .split('\0')
    .slice(0, -1)
  expect(argv.slice(0, 2)).toEqual(['leanflow', 'publish'])
  expect(JSON.parse(argv[3] as string)).toEqual({ order: { id: 'o-7' }, currency: "it's EUR" })
  expect(argv.slice(4)).toEqual(['--bullmq', '--prefix', prefix, '--bullmq-prefix', qprefix])
  // the url is not printed (it may hold a password): REDIS_URL gives it, as it gave it to show
  const published = await leanflow(argv.slice(1), { env: { REDIS_URL: redis.url } })
  expect(published.code, published.stderr).toBe(0)
  expect((await waitEnd(store, runId, 15_000)).kind).toBe('flow.completed')
})
