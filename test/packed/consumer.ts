// Files a user writes, type-checked by test/packed against the packed packages. They are strings
// (not .ts files of the repo) because they compile only in the installed project. Each
// `@ts-expect-error` proves the types are not `any`: if one stops erring, tsc fails.

/** ESM: every entry point, options fed from process.env (maybe undefined), schema-typed input. */
export const CONSUMER_ESM = `import { createBullMQQueue } from '@leanflow/bullmq'
import { createMemoryStreamStore, type EventRecord, isLeanflowError, reduceFlow } from '@leanflow/core'
import { createHandler, signTrigger } from '@leanflow/http'
import { watchRun } from '@leanflow/http/client'
import { toExpressHandler } from '@leanflow/http/express'
import { toH3Handler } from '@leanflow/http/h3'
import { toHonoHandler } from '@leanflow/http/hono'
import { toNodeHandler } from '@leanflow/http/node'
import { createDashboard } from '@leanflow/dashboard'
import { createIdGenerator, instrumentRunner } from '@leanflow/otel'
import { createRedisStreamStore } from '@leanflow/redis'
import { createMemoryQueue, createRunner, defineFlow } from '@leanflow/runner'
import { trace } from '@opentelemetry/api'
import { EventSource } from 'eventsource'
import { Redis } from 'ioredis'
import { z } from 'zod'

const env = process.env
const connection = new Redis(env.REDIS_URL ?? 'redis://127.0.0.1:6379', { lazyConnect: true, maxRetriesPerRequest: null })
const store = createRedisStreamStore({ url: env.REDIS_URL, prefix: env.LF_PREFIX, retention: env.LF_RETENTION })
const shared = createRedisStreamStore({ redis: connection, connectionName: env.LF_NAME })
const queue = createBullMQQueue({ connection, queueName: env.LF_QUEUE, prefix: env.LF_QPREFIX })
const order = defineFlow({
  name: 'order',
  input: z.object({ orderId: z.string() }),
  steps: {
    charge: { retry: { attempts: Number(env.ATTEMPTS) || undefined }, handler: async (input) => input.orderId.toUpperCase() },
    // @ts-expect-error the input schema types the handler's input: it has no amount
    ship: { needs: ['charge'], timeout: env.SHIP_TIMEOUT, handler: async (input) => input.amount },
  },
})
const runner = createRunner({ store, queue, flows: [order], workerId: env.POD_NAME, concurrency: undefined })
const stopTracing = instrumentRunner(runner, { tracerProvider: trace.getTracerProvider(), meterProvider: undefined })
// @ts-expect-error instrumentRunner takes a runner
instrumentRunner({ flows: [] })
console.log(createIdGenerator().generateSpanId(), stopTracing)
const { runId } = await runner.startFlow('order', { orderId: 'o-1' }, { idempotencyKey: env.IDEMPOTENCY_KEY })
// @ts-expect-error a run id is a string
await runner.startFlow('order', { orderId: 'o-1' }, { runId: 42 })
let after: string | undefined
const page: EventRecord[] = await store.read(runId, { after, limit: 100 })
after = page.at(-1)?.id
const runs = await store.listRuns('order', { before: page.length > 0 ? Date.now() : undefined, status: undefined })
console.log(reduceFlow(page).status, after, runs.length)
// an optional field of an event may be given as undefined (exactOptionalPropertyTypes)
const step: string | undefined = env.STEP
await store.append(runId, { kind: 'note.added', flow: runId, step, data: {}, meta: env.JOB ? { jobId: env.JOB } : undefined })
try {
  await runner.result(runId)
} catch (err) {
  // isLeanflowError with a code narrows to that code's class
  if (isLeanflowError(err, 'RUN_FAILED')) console.log(err.runId, err.error)
  if (isLeanflowError(err, 'CHILD_RUN_FAILED')) console.log(err.childRunId, err.childStatus)
  // @ts-expect-error a RUN_NOT_FOUND error carries no childRunId
  if (isLeanflowError(err, 'RUN_NOT_FOUND')) console.log(err.childRunId)
}
const handler = createHandler({ store, runner, triggerSecret: env.TRIGGER_SECRET, basePath: env.BASE_PATH, authorize: undefined })
const dashboard = createDashboard({ apiBase: env.BASE_PATH, basePath: '/dashboard', title: env.TITLE })
// @ts-expect-error the title is a string
createDashboard({ title: 42 })
const listeners = [toNodeHandler(handler), toExpressHandler(handler), toHonoHandler(handler), toH3Handler(handler), toNodeHandler(dashboard)]
const signature: string = await signTrigger(env.TRIGGER_SECRET ?? 'dev-secret', '{"approved":true}')
const watcher = watchRun(\`/flows/runs/\${runId}/stream\`, { EventSource, onError: env.QUIET ? undefined : console.error })
watcher.close()
const memory = createMemoryStreamStore({ retention: env.RETENTION })
const local = createRunner({ store: memory, flows: [order], queue: createMemoryQueue({ onError: undefined }) })
console.log(isLeanflowError(new Error('x')), listeners.length, signature, shared, local)
`

/** CommonJS (`.cts`): the `require` conditions, i.e. the `.cjs` builds and their `.d.cts` types. */
export const CONSUMER_CJS = `import core = require('@leanflow/core')
import bullmq = require('@leanflow/bullmq')
import http = require('@leanflow/http')
import client = require('@leanflow/http/client')
import express = require('@leanflow/http/express')
import h3 = require('@leanflow/http/h3')
import hono = require('@leanflow/http/hono')
import node = require('@leanflow/http/node')
import redis = require('@leanflow/redis')
import runner = require('@leanflow/runner')
import otel = require('@leanflow/otel')
import dashboard = require('@leanflow/dashboard')

const store = core.createMemoryStreamStore({ retention: process.env.RETENTION })
const flow = runner.defineFlow({ name: 'cjs', steps: { one: { handler: async () => 1 } } })
const r = runner.createRunner({ store, flows: [flow], workerId: process.env.POD_NAME })
const handler = http.createHandler({ store, runner: r, triggerSecret: process.env.TRIGGER_SECRET })
// @ts-expect-error retry.attempts is a number
runner.defineFlow({ name: 'bad', steps: { one: { retry: { attempts: '3' }, handler: async () => 1 } } })
otel.instrumentRunner(r)
export = [dashboard.createDashboard({ basePath: '/ops' }), bullmq.createBullMQQueue, client.watchRun, express.toExpressHandler, h3.toH3Handler, hono.toHonoHandler, node.toNodeHandler(handler), redis.createRedisStreamStore]
`

/**
 * The kit in a CommonJS test file (docs/stores.md's one line): its types name core's ES build and
 * the store's its CommonJS one, so an option typed by core's EventBus class did not fit.
 */
export const CONSUMER_KIT_CJS = `import testing = require('@leanflow/testing')
import core = require('@leanflow/core')

testing.describeStreamStoreConformance('memory', async (opts) => core.createMemoryStreamStore(opts))
`

/** The Redis packages alone (the ioredis 5 project): a shared ioredis client for the store and BullMQ. */
export const CONSUMER_REDIS = `import { createBullMQQueue } from '@leanflow/bullmq'
import { createRedisStreamStore } from '@leanflow/redis'
import { createRunner, defineFlow } from '@leanflow/runner'
import { Cluster, Redis } from 'ioredis'

const connection = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { lazyConnect: true })
const store = createRedisStreamStore({ redis: connection, prefix: process.env.LF_PREFIX })
const queue = createBullMQQueue({ connection, queueName: process.env.LF_QUEUE })
const cluster = createRedisStreamStore({ redis: new Cluster([{ host: '127.0.0.1', port: 7000 }], { lazyConnect: true }) })
const hello = defineFlow({ name: 'hello', steps: { greet: { handler: async (input: { who: string }) => \`hello, \${input.who}\` } } })
export const runner = createRunner({ store, queue, flows: [hello] })
export const stores = [store, cluster]
`

/** Imports every entry point: with skipLibCheck off, tsc checks our .d.ts files themselves. */
export const API = `import * as bullmq from '@leanflow/bullmq'
import * as core from '@leanflow/core'
import * as dashboard from '@leanflow/dashboard'
import * as http from '@leanflow/http'
import * as client from '@leanflow/http/client'
import * as express from '@leanflow/http/express'
import * as h3 from '@leanflow/http/h3'
import * as hono from '@leanflow/http/hono'
import * as node from '@leanflow/http/node'
import * as redis from '@leanflow/redis'
import * as otel from '@leanflow/otel'
import * as runner from '@leanflow/runner'
import * as testing from '@leanflow/testing'
export const all = { bullmq, core, dashboard, http, client, express, h3, hono, node, otel, redis, runner, testing }
`

/**
 * A test file of a store written outside this repository: the kit's suites from the installed
 * @leanflow/testing, run with the project's own vitest (on the memory store and queue, briefly).
 */
export const KIT_TEST = `import { createMemoryStreamStore } from '@leanflow/core'
import { createMemoryQueue } from '@leanflow/runner'
import { describeJobQueueConformance, describeRunStateConformance, describeStreamStoreConformance } from '@leanflow/testing'

describeStreamStoreConformance('memory, from the tarball', async (opts) => createMemoryStreamStore(opts))
describeRunStateConformance('memory, from the tarball', async () => {
  const store = createMemoryStreamStore()
  return { store, cleanup: () => store.close() }
})
describeJobQueueConformance('memory, from the tarball', async () => createMemoryQueue({ redeliverDelayMs: 20 }))
`

/** The entry points, for the ESM/CJS load check (@leanflow/testing is ESM only: vitest cannot be required). */
export const ENTRY_POINTS = [
  '@leanflow/core',
  '@leanflow/redis',
  '@leanflow/runner',
  '@leanflow/bullmq',
  '@leanflow/http',
  '@leanflow/http/node',
  '@leanflow/http/express',
  '@leanflow/http/hono',
  '@leanflow/http/h3',
  '@leanflow/http/client',
  '@leanflow/otel',
  '@leanflow/dashboard',
]

/**
 * Loads each entry point with `import` and with `require` and prints, as JSON, their export
 * names and the files each resolved to; also whether an error made by one build is a
 * LeanflowError to the other (the `Symbol.for` brand).
 */
export const LOAD_ENTRIES = `import { createRequire } from 'node:module'
const require = createRequire(import.meta.url)
const entries = JSON.parse(process.argv[2])
const out = { entries: {}, brand: false }
for (const e of entries) {
  const esm = await import(e)
  const cjs = require(e)
  out.entries[e] = {
    esm: Object.keys(esm).filter((k) => k !== 'default').sort(),
    cjs: Object.keys(cjs).sort(),
    esmFile: import.meta.resolve(e),
    cjsFile: require.resolve(e),
  }
}
const esmCore = await import('@leanflow/core')
const cjsCore = require('@leanflow/core')
out.brand =
  esmCore.isLeanflowError(new cjsCore.LeanflowError('INVALID_ARGUMENT', 'x')) &&
  cjsCore.isLeanflowError(new esmCore.LeanflowError('INVALID_ARGUMENT', 'x'))
console.log(JSON.stringify(out))
`

/**
 * A producer for the ```ts worker sample: starts a `hello` run on the same Redis, store and BullMQ
 * queue (their defaults), follows it to its end and prints its state as JSON.
 */
export const PRODUCER = `import { isTerminalKind, reduceFlow } from '@leanflow/core'
import { createBullMQQueue } from '@leanflow/bullmq'
import { createRedisStreamStore } from '@leanflow/redis'
import { createRunner, defineFlow } from '@leanflow/runner'

const url = process.env.REDIS_URL
const hello = defineFlow({ name: 'hello', steps: { greet: { handler: async () => 'not run here' } } })
const store = createRedisStreamStore({ url })
const queue = createBullMQQueue({ url })
const runner = createRunner({ store, queue, flows: [hello] }) // never started: only enqueues
const { runId } = await runner.startFlow('hello', { who: 'producer' })
const ac = new AbortController()
const timer = setTimeout(() => ac.abort(), 20_000)
for await (const e of store.follow(runId, { signal: ac.signal })) if (isTerminalKind(e.kind)) break
clearTimeout(timer)
const state = reduceFlow(await store.read(runId))
console.log(JSON.stringify({ status: state.status, result: state.result }))
await Promise.all([queue.close(), store.close()])
`
