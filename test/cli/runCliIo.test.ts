// `runCli(argv, io)` from code (docs/cli.md "From code"): `io.env` is the environment the
// commands see — its REDIS_URL, not the process's, is the store's default.

import { createRedisStreamStore } from '@leanflow/redis'
import { createRunner, defineFlow } from '@leanflow/runner'
import { afterEach, beforeEach, expect, it } from 'vitest'
import { runCli } from '../../packages/cli/src/index.js'
import { waitEnd } from '../fixtures/runnerKit.js'
import { freePort, useRedisServer } from '../helpers/redisServer.js'

const redis = useRedisServer()
const prefix = `io${Date.now().toString(36)}`
const saved = process.env.REDIS_URL

/** Runs the CLI in-process with `env` as its environment; resolves to its exit code and output. */
async function cli(argv: string[], env: Record<string, string | undefined>) {
  let stdout = ''
  let stderr = ''
  const io = {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    stdin: (async function* () {})(),
    env,
  }
  const code = await runCli(argv, io)
  return { code, stdout, stderr }
}

beforeEach(async () => {
  const store = createRedisStreamStore({ url: redis.url, prefix })
  const hello = defineFlow({ name: 'hello', steps: { a: { handler: async () => 'hi' } } })
  const runner = createRunner({ store, flows: [hello] })
  await runner.start()
  await waitEnd(store, (await runner.startFlow(hello, undefined)).runId)
  await runner.stop()
  await store.close()
})

afterEach(() => {
  if (saved === undefined) delete process.env.REDIS_URL
  else process.env.REDIS_URL = saved
})

it("io.env's REDIS_URL is the store's default, not the process's", async () => {
  delete process.env.REDIS_URL
  const r = await cli(['flows', '--json', '--prefix', prefix], { REDIS_URL: redis.url })
  expect(r.stderr).toBe('')
  expect(r.code).toBe(0)
  expect(JSON.parse(r.stdout)).toEqual({ flows: [{ flow: 'hello', runs: 1 }] })

  process.env.REDIS_URL = `redis://127.0.0.1:${await freePort()}` // nothing listens there
  const other = await cli(['flows', '--json', '--prefix', prefix], { REDIS_URL: redis.url })
  expect(other.code, other.stderr).toBe(0)

  const none = await cli(['flows', '--json', '--prefix', prefix], {})
  expect(none.code).toBe(2)
  expect(JSON.parse(none.stderr).error.message).toMatch(/--redis .*REDIS_URL/)
})
