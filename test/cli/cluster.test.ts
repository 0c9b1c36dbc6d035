// The CLI on a real Redis Cluster: `--cluster` makes `--redis` a seed node (the others are found
// from it), so every command reaches every run whichever node it names. Without it, a command
// that meets a key on another node says to pass --cluster (the store's own advice, a Cluster
// client, is for code), exit 1.
import { createRedisStreamStore, type RedisStreamStore } from '@leanflow/redis'
import { createRunner, defineFlow, type Runner } from '@leanflow/runner'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { waitEnd } from '../fixtures/runnerKit.js'
import { useRedisCluster } from '../helpers/redisCluster.js'
import { useRedisServer } from '../helpers/redisServer.js'
import { buildCli, leanflow, removeCli } from './cliProcess.js'

const cluster = useRedisCluster()
const plain = useRedisServer()
const prefix = `cc${Date.now().toString(36)}`
let store: RedisStreamStore
let runner: Runner
const runIds: string[] = []

const quick = defineFlow({ name: 'quick', steps: { a: { handler: async () => 'done' } } })
const slow = defineFlow({ name: 'slow', steps: { sleep: { handler: async (_i, ctx) => ctx.await.time('1h') } } })

beforeAll(async () => {
  await buildCli()
  store = createRedisStreamStore({ redis: cluster.client, prefix })
  runner = createRunner({ store, flows: [quick, slow], onError: () => {} })
  await runner.start()
  // runs on every node: their keys hash by run id
  for (let i = 0; i < 12; i++) runIds.push((await runner.startFlow(quick, { i })).runId)
  await Promise.all(runIds.map((r) => waitEnd(store, r)))
})

afterAll(async () => {
  await runner?.stop()
  await store?.close()
  removeCli()
})

const node = (i: number) => {
  const n = cluster.nodes[i] as { host: string; port: number }
  return `redis://${n.host}:${n.port}`
}

it('with --cluster, any node as --redis: flows, runs and show of a run on every node', async () => {
  for (const i of [0, 1, 2]) {
    const g = ['--redis', node(i), '--cluster', '--prefix', prefix]
    const flows = await leanflow(['flows', '--json', ...g])
    expect(flows.stderr).toBe('')
    expect(flows.code).toBe(0)
    expect(JSON.stringify(JSON.parse(flows.stdout))).toContain('quick')
    const runs = await leanflow(['runs', 'quick', '--json', '--limit', '50', ...g])
    expect(runs.code).toBe(0)
    expect(runs.stdout).toContain(runIds[0])
  }
  // through one node, runs stored on every node
  const shows = await Promise.all(
    runIds.map((runId) => leanflow(['show', runId, '--json', '--redis', node(1), '--cluster', '--prefix', prefix])),
  )
  for (const [k, show] of shows.entries()) {
    expect(show.code, `show ${runIds[k]}`).toBe(0)
    expect(JSON.parse(show.stdout).state.status).toBe('completed')
  }
})

it('with --cluster: cancel of a run waiting, and tail of it: canceled (5)', async () => {
  const { runId } = await runner.startFlow(slow, {})
  const g = ['--redis', node(1), '--cluster', '--prefix', prefix]
  const cancel = await leanflow(['cancel', runId, ...g])
  expect(cancel.stderr).toBe('')
  expect(cancel.code).toBe(0)
  expect((await leanflow(['tail', runId, ...g])).code).toBe(5)
})

it('without --cluster, a node whose slots miss a key: exit 1, the message says to pass --cluster', async () => {
  // every run through one node: some live on the other two
  const rs = await Promise.all(runIds.map((runId) => leanflow(['show', runId, '--redis', node(0), '--prefix', prefix])))
  const refused = rs.filter((r) => r.code !== 0)
  expect(refused.length).toBeGreaterThan(0)
  for (const r of refused) {
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(
      /is a node of a Redis Cluster \((MOVED|ASK|CROSSSLOT) .*pass --cluster, with --redis naming any one of its nodes/,
    )
    expect(r.stderr).not.toMatch(/createRedisStreamStore/)
  }
})

it('with --cluster and no node reachable: exit 4, bounded, one line on stderr (no ioredis stack), --json one JSON line', async () => {
  const r = await leanflow(['flows', '--redis', 'redis://127.0.0.1:1', '--cluster', '--timeout', '1000'], { timeoutMs: 20_000 })
  expect(r.code).toBe(4)
  expect(r.stderr.trim().split('\n')).toEqual([
    expect.stringMatching(
      /^leanflow: STORE_UNAVAILABLE No node of the Redis Cluster at redis:\/\/127\.0\.0\.1:1 answered \(.+\): is it running\?/,
    ),
  ])
  const j = await leanflow(['flows', '--json', '--redis', 'redis://127.0.0.1:1', '--cluster', '--timeout', '1000'], { timeoutMs: 20_000 })
  expect(j.code).toBe(4)
  const lines = j.stderr.trim().split('\n')
  expect(lines).toHaveLength(1)
  expect(JSON.parse(lines[0] as string).error.code).toBe('STORE_UNAVAILABLE')
})

it('with --cluster against a Redis that is no Cluster: exit 2, saying to drop --cluster', async () => {
  const r = await leanflow(['flows', '--redis', plain.url, '--cluster', '--timeout', '1000'], { timeoutMs: 20_000 })
  expect(r.code).toBe(2)
  expect(r.stderr.trim().split('\n')).toEqual([
    expect.stringMatching(/^leanflow: USAGE The Redis at .* is no Cluster \(.*cluster support disabled.*\): drop --cluster\.$/),
  ])
})
