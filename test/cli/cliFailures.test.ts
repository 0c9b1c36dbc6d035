// The `leanflow` CLI as a real process against a real redis-server: bad usage, unknown runs,
// a missing or unreachable Redis. Each fails with its exit code and one clear line (docs/cli.md).
import { createRedisStreamStore, type RedisStreamStore } from '@leanflow/redis'
import { createMemoryQueue, createRunner, defineFlow } from '@leanflow/runner'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dyingAtChildCreate } from '../helpers/dyingAtChildCreate.js'
import { freePort, useRedisServer } from '../helpers/redisServer.js'
import { buildCli, leanflow, removeCli } from './cliProcess.js'

const redis = useRedisServer()
const prefix = `clif${Date.now().toString(36)}`
let store: RedisStreamStore

const g = () => ['--redis', redis.url, '--prefix', prefix]
const lines = (s: string) => s.split('\n').filter((l) => l.trim() !== '')

beforeAll(async () => {
  await buildCli()
  store = createRedisStreamStore({ url: redis.url, prefix })
  // one run of `order`, so the store lists a flow
  const order = defineFlow({ name: 'order', steps: { a: { handler: async () => null } } })
  const runner = createRunner({ store, queue: createMemoryQueue(), flows: [order] })
  await runner.start()
  await runner.result((await runner.startFlow(order, {})).runId, { timeout: 10_000 })
  await runner.stop()
})

afterAll(async () => {
  await store?.close()
  removeCli()
})

describe('failures', () => {
  it('cancel of a parent whose child was recorded but never created exits 0 and says, with its code, which child was not created', async () => {
    const child = defineFlow({ name: 'child', steps: { a: { handler: async () => 1 } } })
    const parent = defineFlow({ name: 'parent', steps: { p: { handler: async (_i, ctx) => ctx.invoke('child', {}) } } })
    // the worker "dies" as it creates the child: the invoke is recorded, the child is not
    const dying = dyingAtChildCreate(store as never, () => void worker.stop())
    const worker = createRunner({ store: dying.store as never, queue: createMemoryQueue(), flows: [parent, child], onError: () => {} })
    await worker.start()
    const { runId } = await worker.startFlow(parent, {})
    while (!dying.died) await new Promise((r) => setTimeout(r, 10))
    await worker.stop()
    const r = await leanflow(['cancel', runId, ...g()])
    expect(r.code).toBe(0)
    expect(lines(r.stderr)).toEqual([
      expect.stringMatching(/^leanflow: FLOW_NOT_FOUND Child run "[^"]+" \(flow "child"\) of run "[^"]+" was not created: /),
    ])
  })

  it('bad usage exits 2 with the help text; --help, help [command] and --version exit 0', async () => {
    const [none, unknown, missing, help, version, helpCommand, helpAlone] = await Promise.all([
      leanflow([]),
      leanflow(['frobnicate']),
      leanflow(['show', ...g()]),
      leanflow(['tail', '--help']),
      leanflow(['--version']),
      leanflow(['help', 'tail']),
      leanflow(['help']),
    ])
    // `help tail` exited 2, as a usage error, though it printed the help asked for
    expect(helpCommand.code).toBe(0)
    expect(helpCommand.stdout).toContain('--after <eventId>')
    expect(helpAlone.code).toBe(0)
    expect(helpAlone.stdout).toContain('Usage: leanflow')
    expect(none.code).toBe(2)
    expect(none.stderr).toContain('Usage: leanflow')
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toContain("unknown command 'frobnicate'")
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain("missing required argument 'runId'")
    expect(missing.stderr).toContain('Usage: leanflow show')
    expect(help.code).toBe(0)
    expect(help.stdout).toContain('--after <eventId>')
    expect(version.code).toBe(0)
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/)
  })

  it('an unknown schedules subcommand is named as unknown (exit 2, with the schedules help), not taken as arguments of list', async () => {
    const [text, json, list] = await Promise.all([
      leanflow(['schedules', 'puase', 'nightly', ...g()]),
      leanflow(['schedules', 'bogus', '--json', ...g()]),
      leanflow(['schedules', 'list', 'extra', ...g()]),
    ])
    expect(text.code).toBe(2)
    expect(text.stderr).toContain("unknown command 'schedules puase'")
    expect(text.stderr).not.toContain("for 'list'")
    expect(text.stderr).toContain('Usage: leanflow schedules')
    expect(json.code).toBe(2)
    expect(JSON.parse(json.stderr)).toEqual({
      error: { code: 'USAGE', message: expect.stringContaining("unknown command 'schedules bogus'") },
    })
    expect(list.code).toBe(2)
    expect(list.stderr).toContain("too many arguments for 'list'")
  })

  it('with --json, a usage error is one JSON line on stderr too (no help text), before or after the command', async () => {
    const rs = await Promise.all([
      leanflow(['--json', 'frobnicate']),
      leanflow(['runs', '--json', ...g()]),
      leanflow(['runs', 'order', '--status', 'zzz', '--json', ...g()]),
      leanflow(['--json', 'runs', 'order', '--limit', '0', ...g()]),
      leanflow(['--json']),
    ])
    expect(rs.map((r) => r.code)).toEqual([2, 2, 2, 2, 2])
    const errors = rs.map((r) => {
      expect(lines(r.stderr), r.stderr).toHaveLength(1)
      expect(r.stdout).toBe('')
      return (JSON.parse(r.stderr) as { error: { code: string; message: string } }).error
    })
    expect(errors.map((e) => e.code)).toEqual(['USAGE', 'USAGE', 'USAGE', 'USAGE', 'USAGE'])
    expect(errors[0]?.message).toContain("unknown command 'frobnicate'")
    expect(errors[1]?.message).toContain("missing required argument 'flow'")
    expect(errors[2]?.message).toMatch(/'zzz' is invalid. Allowed choices are queued, running/)
    expect(errors[3]?.message).toContain('Not a whole number above 0')
    expect(errors[4]?.message).toContain('leanflow --help')
  })

  it('no Redis URL exits 2 naming --redis and REDIS_URL; REDIS_URL works', async () => {
    const [none, env] = await Promise.all([leanflow(['flows']), leanflow(['flows', '--prefix', prefix], { env: { REDIS_URL: redis.url } })])
    expect(none.code).toBe(2)
    expect(none.stderr).toMatch(/--redis .*REDIS_URL/)
    expect(lines(none.stderr)).toHaveLength(1)
    expect(env.code).toBe(0)
    expect(env.stdout).toContain('order')
  })

  it('an unknown run exits 3 (show, tail, cancel); an invalid run id exits 2', async () => {
    const rs = await Promise.all([
      leanflow(['show', 'nope', ...g()]),
      leanflow(['tail', 'nope', ...g()]),
      leanflow(['cancel', 'nope', ...g()]),
      leanflow(['show', 'no:pe', ...g()]),
      leanflow(['show', 'nope', '--json', ...g()]),
    ])
    expect(rs.map((r) => r.code)).toEqual([3, 3, 3, 2, 3])
    expect(rs[0]?.stderr).toMatch(/^leanflow: RUN_NOT_FOUND Run "nope" does not exist.*check the run id/)
    expect(lines(rs[0]!.stderr)).toHaveLength(1)
    // every command words it alike, naming --prefix (cancel's came from the runner)
    for (const r of rs.slice(0, 3)) expect(r.stderr).toMatch(/RUN_NOT_FOUND Run "nope" .*--prefix/)
    expect(JSON.parse(rs[4]!.stderr).error.code).toBe('RUN_NOT_FOUND')
  })

  it('a --bullmq-queue BullMQ refuses, or an empty --bullmq-prefix, is a usage error naming it (exit 2), not INTERNAL', async () => {
    const [r, empty] = await Promise.all([
      leanflow(['publish', 'x.y', '{}', '--bullmq', '--bullmq-queue', 'a:b', ...g()]),
      leanflow(['publish', 'x.y', '{}', '--bullmq', '--bullmq-prefix', '', ...g()]),
    ])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/^leanflow: INVALID_ARGUMENT Invalid queueName "a:b"/)
    expect(empty.code).toBe(2)
    expect(empty.stderr).toMatch(/^leanflow: INVALID_ARGUMENT Invalid prefix ""/)
  })

  it('an unreachable Redis exits 4 within a few seconds', async () => {
    const port = await freePort()
    const r = await leanflow(['show', 'r1', '--redis', `redis://127.0.0.1:${port}`])
    expect(r.code).toBe(4)
    // the store names the url and why it was not reached; the question is asked once
    expect(r.stderr).toMatch(/STORE_UNAVAILABLE.*Redis at redis:\/\/127\.0\.0\.1:\d+ is not reached: connect ECONNREFUSED/)
    expect(r.stderr.split('Is Redis running').length).toBe(2)
    expect(r.ms).toBeLessThan(15_000) // bounded (the connect gives up after its timeout), with room for a loaded machine
    // --bullmq adds BullMQ's connections: their errors do not get in the way of the one JSON error line
    const q = await leanflow(['publish', 'a.b', '--bullmq', '--json', '--timeout', '1500', '--redis', `redis://127.0.0.1:${port}`])
    expect(q.code).toBe(4)
    expect(lines(q.stderr), q.stderr).toHaveLength(1)
    expect(JSON.parse(q.stderr).error.code).toBe('STORE_UNAVAILABLE')
    // --timeout bounds the queue's commands too (not BullMQ's default 5000 ms)
    expect(JSON.parse(q.stderr).error.message).not.toMatch(/5000 ms/)
  })
})
