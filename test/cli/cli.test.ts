// The `leanflow` CLI as a real process against a real redis-server, on runs made by a real
// runner in this process (its jobs on BullMQ, so the CLI's --bullmq resolve and publish resume
// steps on this runner).
import { createBullMQQueue } from '@leanflow/bullmq'
import { type EventRecord, NonRetriableError } from '@leanflow/core'
import { createRedisStreamStore, type RedisStreamStore } from '@leanflow/redis'
import { createRunner, defineFlow, type Runner } from '@leanflow/runner'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { waitEnd, waitKind } from '../fixtures/runnerKit.js'
import { useRedisServer } from '../helpers/redisServer.js'
import { buildCli, leanflow, removeCli } from './cliProcess.js'

const redis = useRedisServer()
const prefix = `cli${Date.now().toString(36)}`
const qprefix = `lfq${prefix}`
let store: RedisStreamStore
let runner: Runner
let queue: ReturnType<typeof createBullMQQueue>

const order = defineFlow({
  name: 'order',
  steps: {
    charge: {
      handler: async (input: { orderId: string }, ctx) => {
        ctx.logger.info('charging', { orderId: input.orderId })
        return { charged: 42 }
      },
    },
    ship: { needs: ['charge'], handler: async () => 'shipped' },
  },
})
const approval = defineFlow({
  name: 'approval',
  steps: {
    approve: {
      handler: async (_input, ctx) => {
        const t = await ctx.await.trigger<{ approved: boolean }>({ type: 'webhook', timeout: '1h' })
        return t.wait()
      },
    },
  },
})
const payment = defineFlow({
  name: 'payment',
  steps: {
    pay: {
      handler: async (input: { orderId: string }, ctx) =>
        (await ctx.await.event({ kind: 'payment.confirmed', match: { 'data.orderId': input.orderId } })).data,
    },
  },
})
const broken = defineFlow({
  name: 'broken',
  steps: {
    boom: {
      handler: async () => {
        throw new NonRetriableError('card declined')
      },
    },
  },
})
const slow = defineFlow({ name: 'slow', steps: { sleep: { handler: async (_i, ctx) => ctx.await.time('1h') } } })
const report = defineFlow({
  name: 'report',
  schedules: [
    { id: 'nightly', cron: '0 3 * * *', tz: 'Europe/Berlin' },
    { id: 'hourly', every: '1h' },
  ],
  steps: { build: { handler: async () => 'ok' } },
})

/** The global options every call passes. */
const g = () => ['--redis', redis.url, '--prefix', prefix]
const lines = (s: string) => s.split('\n').filter((l) => l.trim() !== '')

beforeAll(async () => {
  await buildCli()
  store = createRedisStreamStore({ url: redis.url, prefix })
  queue = createBullMQQueue({ url: redis.url, prefix: qprefix })
  runner = createRunner({ store, queue, flows: [order, approval, payment, broken, slow, report], cancelPollMs: 50, onError: () => {} })
  await runner.start()
})

afterAll(async () => {
  await runner?.stop()
  await queue?.close()
  await store?.close()
  removeCli()
})

describe('reading', () => {
  let orderRun: string
  let brokenRun: string
  beforeAll(async () => {
    orderRun = (await runner.startFlow('order', { orderId: 'o-1' })).runId
    brokenRun = (await runner.startFlow('broken', {})).runId
    await Promise.all([waitEnd(store, orderRun), waitEnd(store, brokenRun)])
  })

  it('flows lists each flow with its run count; --json is one document', async () => {
    const [text, json] = await Promise.all([leanflow(['flows', ...g()]), leanflow(['flows', '--json', ...g()])])
    expect(text.code).toBe(0)
    expect(text.stdout).toMatch(/flow\s+runs/)
    expect(text.stdout).toMatch(/order\s+1/)
    expect(json.code).toBe(0)
    expect(JSON.parse(json.stdout).flows).toEqual(
      expect.arrayContaining([
        { flow: 'order', runs: 1 },
        { flow: 'broken', runs: 1 },
      ]),
    )
  })

  it('runs lists a flow’s runs, filtered by --status; a bad --status is a usage error', async () => {
    const [all, failed, none, bad] = await Promise.all([
      leanflow(['runs', 'order', ...g()]),
      leanflow(['--json', 'runs', 'broken', '--status', 'failed', ...g()]),
      leanflow(['--json', 'runs', 'order', '--status', 'failed', ...g()]),
      leanflow(['runs', 'order', '--status', 'done', ...g()]),
    ])
    expect(all.code).toBe(0)
    expect(all.stdout).toContain(orderRun)
    expect(all.stdout).toContain('completed')
    expect(JSON.parse(failed.stdout).runs.map((r: { runId: string }) => r.runId)).toEqual([brokenRun])
    expect(JSON.parse(none.stdout).runs).toEqual([])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('Allowed choices are queued, running, awaiting, completed, failed, canceled')
  })

  it('show prints the status, timings, each step and the last error; --json the reduced state', async () => {
    const [ok, failed, json] = await Promise.all([
      leanflow(['show', orderRun, ...g()]),
      leanflow(['show', brokenRun, ...g()]),
      leanflow(['show', orderRun, '--json', ...g()]),
    ])
    expect(ok.code).toBe(0)
    expect(ok.stdout).toMatch(new RegExp(`run\\s+${orderRun}\\s+order\\s+completed`))
    expect(ok.stdout).toMatch(/step\s+status\s+attempts\s+duration/)
    expect(ok.stdout).toMatch(/charge\s+completed\s+1\s+\d/)
    expect(ok.stdout).toMatch(/ship\s+completed\s+1/)
    expect(ok.stdout).toContain('charging')
    expect(ok.stdout).not.toContain('\u001b[') // not a terminal: no colors
    expect(failed.stdout).toMatch(/boom\s+failed/)
    expect(failed.stdout).toMatch(/last error.*card declined/)
    const doc = JSON.parse(json.stdout)
    expect(doc.state.status).toBe('completed')
    expect(doc.state.steps.charge.status).toBe('completed')
    expect(doc.lastEventId).toMatch(/^\d+-\d+$/)
  })

  it('tail of an ended run prints every event and exits with its outcome: 0 completed, 1 failed', async () => {
    const [ok, failed, json] = await Promise.all([
      leanflow(['tail', orderRun, ...g()]),
      leanflow(['tail', brokenRun, ...g()]),
      leanflow(['tail', orderRun, '--json', ...g()]),
    ])
    expect(ok.code).toBe(0)
    expect(lines(ok.stdout)[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} flow\.started\s+order/)
    expect(lines(ok.stdout).at(-1)).toMatch(/flow\.completed/)
    expect(ok.stdout).toMatch(/log\.info\s+charge\s+charging/)
    expect(failed.code).toBe(1)
    expect(failed.stdout).toMatch(/step\.failed\s+boom\s+card declined/)
    const events = lines(json.stdout).map((l) => JSON.parse(l) as EventRecord)
    expect(events[0]?.kind).toBe('flow.started')
    expect(events.at(-1)?.kind).toBe('flow.completed')
    expect(events.every((e) => e.flow === orderRun)).toBe(true)
    // --after the last event: nothing more, the outcome still
    const after = await leanflow(['tail', orderRun, '--after', events.at(-2)!.id, '--json', ...g()])
    expect(lines(after.stdout).map((l) => JSON.parse(l).kind)).toEqual(['flow.completed'])
    expect(after.code).toBe(0)
    // a malformed --after is a usage error, also on a run that ended (not its outcome, silently)
    const bad = await leanflow(['tail', orderRun, '--after', 'bad', ...g()])
    expect({ code: bad.code, stdout: bad.stdout }).toEqual({ code: 2, stdout: '' })
    expect(bad.stderr).toMatch(/--after .*"bad"/)
    // so is an id of the right shape with a part past 2^64 - 1 (the store refuses it; an ended run would not ask it)
    for (const huge of ['18446744073709551616-0', '1-99999999999999999999']) {
      const tooLarge = await leanflow(['tail', orderRun, '--after', huge, '--json', ...g()])
      expect({ code: tooLarge.code, stdout: tooLarge.stdout }).toEqual({ code: 2, stdout: '' })
      expect(tooLarge.stderr).toMatch(/18446744073709551615/)
    }
  })

  it('tail --after the end of a run whose log goes on after it exits with its outcome, not waiting; cancel says it ended', async () => {
    // a step that completed after the cancel, then more: the run ended at flow.canceled
    const runId = `after-end-${Date.now().toString(36)}`
    const ev = (kind: string, data: unknown, step?: string) => ({ kind, flow: runId, data, ...(step ? { step } : {}) })
    await store.append(runId, ev('flow.started', { name: 'order', input: null, steps: { a: { needs: [] } } }))
    await store.append(runId, ev('step.started', { attempt: 1 }, 'a'))
    const end = await store.append(runId, ev('flow.canceled', { reason: 'by hand' }))
    await store.append(runId, ev('step.completed', { result: 1, attempt: 1 }, 'a'))
    const later = await store.append(runId, ev('step.log', { level: 'info', message: 'late' }, 'a'))
    const [atEnd, past, cancel] = await Promise.all([
      leanflow(['tail', runId, '--after', end.id, '--json', ...g()], { timeoutMs: 20_000 }),
      leanflow(['tail', runId, '--after', later.id, '--json', ...g()], { timeoutMs: 20_000 }),
      leanflow(['cancel', runId, '--json', ...g()], { timeoutMs: 20_000 }),
    ])
    expect({ code: atEnd.code, stdout: atEnd.stdout }).toEqual({ code: 5, stdout: '' })
    expect({ code: past.code, stdout: past.stdout }).toEqual({ code: 5, stdout: '' })
    // and cancel says it had ended, as for a run whose last event is its end
    expect({ code: cancel.code, out: JSON.parse(cancel.stdout) }).toEqual({ code: 0, out: { runId, status: 'canceled', canceled: false } })
    // a live run's --after past its last event: not found (exit 3), saying to drop --after
    const live = `after-live-${Date.now().toString(36)}`
    await store.append(live, { kind: 'flow.started', flow: live, data: { name: 'order', input: null, steps: { a: { needs: [] } } } })
    const gone = await leanflow(['tail', live, '--after', '99999999999999-0', ...g()], { timeoutMs: 8000 })
    expect(gone.code).toBe(3)
    expect(gone.stderr).toMatch(/HISTORY_GONE Run ".*" has no event "99999999999999-0" or later .*tail it without --after/)
  })

  it('colors only when asked (FORCE_COLOR) and never with NO_COLOR', async () => {
    const [forced, no] = await Promise.all([
      leanflow(['tail', orderRun, ...g()], { env: { FORCE_COLOR: '1' } }),
      leanflow(['tail', orderRun, ...g()], { env: { FORCE_COLOR: undefined, NO_COLOR: '1' } }),
    ])
    expect(forced.stdout).toContain('\u001b[32mflow.completed')
    expect(no.stdout).not.toContain('\u001b[')
  })
})

describe('acting', () => {
  it('tail follows a live run until a trigger resolved by the CLI (--bullmq) completes it', async () => {
    const { runId } = await runner.startFlow('approval', {})
    const awaited = await waitKind(store, runId, 'step.await.trigger', 'approve')
    const triggerId = (awaited.data as { triggerId: string }).triggerId
    const tail = leanflow(['tail', runId, ...g()])
    const shown = await leanflow(['show', runId, ...g()])
    expect(shown.stdout).toMatch(/approve\s+awaiting/)
    // with what resolve needs: the workers' queue, and the store's prefix show was given
    expect(shown.stdout).toContain(`leanflow resolve ${triggerId} '<json>' --bullmq --prefix '${prefix}'`)
    const resolved = await leanflow(['resolve', triggerId, '-', '--bullmq', '--bullmq-prefix', qprefix, '--json', ...g()], {
      input: '{"approved":true}',
    })
    expect(resolved.code).toBe(0)
    expect(JSON.parse(resolved.stdout)).toEqual({ triggerId, runId, step: 'approve' })
    const done = await tail
    expect(done.code).toBe(0)
    expect(done.stdout).toMatch(/step\.await\.trigger\s+approve\s+trigger/)
    expect(lines(done.stdout).at(-1)).toMatch(/flow\.completed.*"approved":true/)
    // without --bullmq the resume job would die with the CLI: refused, nothing written
    const noQueue = await leanflow(['resolve', triggerId, '{}', ...g()])
    expect(noQueue.code).toBe(2)
    expect(noQueue.stderr).toMatch(/resolve needs the queue your workers take jobs from.*--bullmq.*Nothing was written/)
    const bq = ['--bullmq', '--bullmq-prefix', qprefix]
    const again = await leanflow(['resolve', triggerId, '{}', ...bq, ...g()])
    expect(again.code).toBe(1)
    expect(again.stderr).toMatch(/TRIGGER_CONFLICT/)
    const unknown = await leanflow(['resolve', 'nope', '{}', ...bq, ...g()])
    expect(unknown.code).toBe(3)
    expect(unknown.stderr).toMatch(/TRIGGER_NOT_FOUND/)
    // a malformed id is a usage error naming it (as POST /triggers/a:b answers 400 INVALID_NAME)
    const malformed = await leanflow(['resolve', 'a:b', '{}', ...bq, ...g()])
    expect(malformed.code).toBe(2)
    expect(malformed.stderr).toMatch(/INVALID_NAME.*trigger id "a:b"/)
  })

  it('publish (JSON argument) satisfies a run’s await.event', async () => {
    const { runId } = await runner.startFlow('payment', { orderId: 'p-1' })
    await waitKind(store, runId, 'step.await.event', 'pay')
    const r = await leanflow([
      'publish',
      'payment.confirmed',
      '{"orderId":"p-1","amount":5}',
      '--bullmq',
      '--bullmq-prefix',
      qprefix,
      ...g(),
    ])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^Published payment\.confirmed as \d+-\d+/)
    const end = await waitEnd(store, runId, 15_000)
    expect(end.kind).toBe('flow.completed')
    const bad = await leanflow(['publish', 'payment.confirmed', '{oops', ...g()])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('is not JSON')
    const noQueue = await leanflow(['publish', 'payment.confirmed', '{"orderId":"p-2"}', ...g()])
    expect(noQueue.code).toBe(2)
    expect(noQueue.stderr).toMatch(/publish needs the queue your workers take jobs from/)
    expect(await store.readExternal('payment.confirmed', 0)).toHaveLength(1)
  })

  it('cancel ends a live run (tail exits 5); a second cancel says it had ended', async () => {
    const { runId } = await runner.startFlow('slow', {})
    await waitKind(store, runId, 'step.await.time', 'sleep')
    const tail = leanflow(['tail', runId, '--json', ...g()])
    // the reason, echoed, sends no terminal sequence and reorders nothing (as show and tail print it)
    const r = await leanflow(['cancel', runId, '--reason', 'not \x1b[31mneeded\u202E', ...g()])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain(`Canceled run ${runId} (not \\x1b[31mneeded\\u202E)`)
    const t = await tail
    expect(t.code).toBe(5)
    expect(JSON.parse(lines(t.stdout).at(-1)!)).toMatchObject({ kind: 'flow.canceled', data: { reason: 'not \x1b[31mneeded\u202E' } })
    const again = await leanflow(['cancel', runId, '--json', ...g()])
    expect(JSON.parse(again.stdout)).toEqual({ runId, status: 'canceled', canceled: false })
  })

  it('schedules lists, pauses and resumes; trigger explains it needs the flow', async () => {
    const list = await leanflow(['schedules', '--json', ...g()])
    expect(list.code).toBe(0)
    const ids = JSON.parse(list.stdout).schedules.map((s: { id: string }) => s.id)
    expect(ids).toEqual(['hourly', 'nightly'])
    const paused = await leanflow(['schedules', 'pause', 'nightly', ...g()])
    expect(paused.code).toBe(0)
    expect(paused.stdout).toMatch(/nightly\s+report\s+cron 0 3 \* \* \* Europe\/Berlin\s+paused/)
    expect((await runner.schedules.list()).find((s) => s.id === 'nightly')?.paused).toBe(true)
    const resumed = await leanflow(['schedules', 'resume', 'nightly', '--json', ...g()])
    expect(JSON.parse(resumed.stdout).schedule).toMatchObject({ id: 'nightly', paused: false })
    const trigger = await leanflow(['schedules', 'trigger', 'hourly', ...g()])
    expect(trigger.code).toBe(1)
    expect(trigger.stderr).toMatch(/FLOW_NOT_FOUND.*flow "report".*runner\.schedules\.trigger\("hourly"\)/)
    const unknown = await leanflow(['schedules', 'pause', 'nope', ...g()])
    expect(unknown.code).toBe(3)
    expect(unknown.stderr).toContain('SCHEDULE_NOT_FOUND')
  })

  it('rerun checks the run, --from and --input, then explains it needs the flow (runner.rerun or the HTTP route); nothing is written', async () => {
    const { runId } = await runner.startFlow('order', { orderId: 'o-9' })
    await waitEnd(store, runId)
    const before = (await store.listRuns('order', { limit: 1000 })).length
    const r = await leanflow(['rerun', runId, '--from', 'ship', '--input', '{"orderId":"o-10"}', '--key', 'k1', ...g()])
    expect(r.code).toBe(1)
    expect(lines(r.stderr)).toHaveLength(1)
    expect(r.stderr).toContain(`leanflow: FLOW_NOT_FOUND Run "${runId}" of flow "order" was not rerun`)
    expect(r.stderr).toContain(`runner.rerun("${runId}", {"from":"ship","input":{"orderId":"o-10"},"idempotencyKey":"k1"})`)
    expect(r.stderr).toContain(
      `POST <basePath>/runs/${runId}/rerun with the body {"from":"ship","input":{"orderId":"o-10"}} with the header Idempotency-Key: k1`,
    )
    const plain = await leanflow(['rerun', runId, '--json', ...g()])
    expect(plain.code).toBe(1)
    expect(plain.stdout).toBe('')
    const err = JSON.parse(plain.stderr).error
    expect(err.code).toBe('FLOW_NOT_FOUND')
    expect(err.message).toContain(`runner.rerun("${runId}")`)
    expect(err.message).toContain(`POST <basePath>/runs/${runId}/rerun.`)
    const stdin = await leanflow(['rerun', runId, '--input', '-', ...g()], { input: '{"orderId":"o-11"}' })
    expect(stdin.code).toBe(1)
    expect(stdin.stderr).toContain('{"input":{"orderId":"o-11"}}')
    const big = JSON.stringify({ note: 'x'.repeat(1_100_000) })
    const [badStep, badJson, unknown, badId, help, huge, emptyKey, longKey, long, spaced, overflow] = await Promise.all([
      leanflow(['rerun', runId, '--from', 'nope', ...g()]),
      leanflow(['rerun', runId, '--input', '{oops', ...g()]),
      leanflow(['rerun', 'nope', ...g()]),
      leanflow(['rerun', 'no:pe', ...g()]),
      leanflow(['rerun', '--help']),
      leanflow(['rerun', runId, '--input', '-', ...g()], { input: big }),
      leanflow(['rerun', runId, '--key', '', ...g()]),
      leanflow(['rerun', runId, '--key', 'k'.repeat(300), ...g()]),
      leanflow(['rerun', runId, '--input', '-', ...g()], { input: JSON.stringify({ note: 'y'.repeat(5000) }) }),
      leanflow(['rerun', runId, '--key', 'a b', ...g()]),
      leanflow(['rerun', runId, '--input', '{"amount":[1,1e400]}', ...g()]),
    ])
    // a number too large for a double would be stored as null: refused, as the HTTP API refuses it
    expect(overflow.code).toBe(2)
    expect(overflow.stderr).toContain('The rerun input holds a number too large for a double (such as 1e400)')
    // a key runner.rerun takes but the Idempotency-Key header does not (visible ASCII only): no such header is suggested
    expect(spaced.code).toBe(1)
    expect(spaced.stderr).toContain('"idempotencyKey":"a b"')
    expect(spaced.stderr).not.toContain('Idempotency-Key: a b')
    expect(spaced.stderr).toContain('with no Idempotency-Key header')
    // what the runner would refuse is refused here, exit 2, in a line that does not repeat the input
    expect(huge.code).toBe(2)
    expect(huge.stderr).toMatch(/^leanflow: PAYLOAD_TOO_LARGE The rerun input is \d+ bytes, over the limit of 1048576 bytes/)
    expect(huge.stderr.length).toBeLessThan(1000)
    for (const r of [emptyKey, longKey]) {
      expect(r.code).toBe(2)
      expect(r.stderr).toMatch(/INVALID_ARGUMENT Invalid rerun idempotencyKey .*: pass a --key of 1-256 characters/)
    }
    expect(long.code).toBe(1)
    expect(long.stderr).toContain('"input":"<the --input given>"')
    expect(long.stderr.length).toBeLessThan(2000)
    expect(badStep.code).toBe(2)
    expect(badStep.stderr).toMatch(/INVALID_ARGUMENT Run ".*" of flow "order" has no step "nope": pass one of charge, ship to --from/)
    expect(badJson.code).toBe(2)
    expect(badJson.stderr).toContain('The rerun input is not JSON')
    expect(unknown.code).toBe(3)
    expect(unknown.stderr).toContain('RUN_NOT_FOUND Run "nope" does not exist')
    expect(badId.code).toBe(2)
    expect(help.code).toBe(0)
    expect(help.stdout).toContain('--from <step>')
    expect(help.stdout).toContain('--input <json>')
    // refused before anything is written: no new run of the flow
    expect((await store.listRuns('order', { limit: 1000 })).length).toBe(before)
  })
})
