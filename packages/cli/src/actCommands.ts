import { assertName, hasNonFiniteNumber, invalidArgument, isLeanflowError, PayloadTooLargeError, STORE_DEFAULTS } from '@leanflow/core'
import type { ScheduleInfo } from '@leanflow/runner'
import { CliError } from './cliError.js'
import type { CommandContext } from './context.js'
import { EXIT_CODES, type ExitCode } from './exitCodes.js'
import { formatTime, printable, table } from './format.js'
import { notFound } from './readCommands.js'
import { runEndOf } from './runEndOf.js'

/** The JSON argument of `resolve` and `publish`: the text, or standard input for `-`; none is `null`. */
export async function readJsonArg(ctx: CommandContext, arg: string | undefined, what: string): Promise<unknown> {
  if (arg === undefined) return null
  let text = arg
  if (arg === '-') {
    text = ''
    for await (const chunk of ctx.io.stdin) text += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8')
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    throw new CliError(
      EXIT_CODES.usage,
      'USAGE',
      `The ${what} is not JSON (${(err as Error).message}): quote it for the shell, e.g. '{"approved":true}', or pass - to read it from stdin.`,
    )
  }
  if (hasNonFiniteNumber(value))
    throw new CliError(
      EXIT_CODES.usage,
      'USAGE',
      `The ${what} holds a number too large for a double (such as 1e400): it would be stored as null. Send it as a string ("1e400"), as the HTTP API asks. Nothing was written.`,
    )
  return value
}

/**
 * Refuses a command whose effect resumes steps without `--bullmq`, before it writes anything: the
 * resume job would go on this process's own queue and die with it, the trigger resolved (or the
 * event matched) for good and the step never resumed.
 */
function needsWorkersQueue(ctx: CommandContext, command: string, app: string): void {
  if (ctx.opts.bullmq) return
  throw new CliError(
    EXIT_CODES.usage,
    'USAGE',
    `${command} needs the queue your workers take jobs from, or the step it resumes never runs: pass --bullmq (with --bullmq-queue / --bullmq-prefix as your workers set them). Workers on the in-process queue: ${app} through your app (${command === 'resolve' ? 'POST /triggers/:id' : 'POST /events'}). Nothing was written (docs/cli.md#queues).`,
  )
}

/** `leanflow cancel <runId>`. */
export async function cancelCommand(ctx: CommandContext, runId: string, o: { reason?: string }): Promise<ExitCode> {
  const session = ctx.session()
  const { store } = session
  const end = await runEndOf(store, runId)
  if (end) {
    const status = end.kind.slice('flow.'.length)
    if (ctx.opts.json) ctx.printJson({ runId, status, canceled: false })
    else ctx.print(`Run ${runId} had already ended (${status}): nothing to cancel.`)
    return EXIT_CODES.ok
  }
  const runner = await session.runner()
  // the not-found every other command gives (it names --prefix)
  await runner.cancel(runId, o.reason).catch((err: unknown) => {
    throw isLeanflowError(err, 'RUN_NOT_FOUND') ? notFound(runId) : err
  })
  if (ctx.opts.json) ctx.printJson({ runId, status: 'canceled', canceled: true })
  else ctx.print(`Canceled run ${runId}${o.reason ? ` (${printable(o.reason)})` : ''}.`)
  return EXIT_CODES.ok
}

/** `leanflow resolve <triggerId> [json]`. */
export async function resolveCommand(ctx: CommandContext, triggerId: string, json: string | undefined): Promise<ExitCode> {
  const payload = await readJsonArg(ctx, json, 'trigger payload')
  needsWorkersQueue(ctx, 'resolve', 'resolve triggers')
  const runner = await ctx.session().runner()
  const { runId, step } = await runner.resolveTrigger(triggerId, payload)
  if (ctx.opts.json) ctx.printJson({ triggerId, runId, step })
  else ctx.print(`Resolved trigger ${triggerId}: run ${runId}, step ${step}.`)
  return EXIT_CODES.ok
}

/** `leanflow publish <kind> [json]`. */
export async function publishCommand(ctx: CommandContext, kind: string, json: string | undefined, o: { key?: string }): Promise<ExitCode> {
  const data = await readJsonArg(ctx, json, 'event data')
  needsWorkersQueue(ctx, 'publish', 'publish events')
  const runner = await ctx.session().runner()
  const { id } = await runner.publishEvent({ kind, data }, { idempotencyKey: o.key })
  if (ctx.opts.json) ctx.printJson({ kind, id })
  else ctx.print(`Published ${kind} as ${id}.`)
  return EXIT_CODES.ok
}

const cadence = (s: ScheduleInfo) => (s.cron !== undefined ? `cron ${s.cron} ${s.tz}` : `every ${s.every ?? '?'}`)

function scheduleRows(ctx: CommandContext, list: ScheduleInfo[]): string {
  const c = ctx.c
  return table(
    ['schedule', 'flow', 'cadence', 'state', 'next run', 'last run'],
    list.map((s) => [
      s.id,
      s.flow,
      cadence(s),
      s.paused ? c.yellow('paused') : c.green('active'),
      s.nextRunAt === null ? '-' : formatTime(s.nextRunAt),
      s.lastRun ? `${formatTime(s.lastRun.tick)} ${s.lastRun.skipped ? c.dim('skipped') : (s.lastRun.runId ?? '')}` : '-',
    ]),
    c,
  )
}

/** `leanflow schedules [list]`. */
export async function schedulesListCommand(ctx: CommandContext): Promise<ExitCode> {
  const list = (await (await ctx.session().runner()).schedules.list()).sort((a, b) => a.id.localeCompare(b.id))
  if (ctx.opts.json) ctx.printJson({ schedules: list })
  else if (list.length === 0) ctx.note('No schedules are stored (in-code schedules are stored when a runner that defines them starts).')
  else ctx.print(scheduleRows(ctx, list))
  return EXIT_CODES.ok
}

/** `leanflow schedules pause|resume <id>`. */
export async function schedulesPauseCommand(ctx: CommandContext, id: string, paused: boolean): Promise<ExitCode> {
  const runner = await ctx.session().runner()
  const info = paused ? await runner.schedules.pause(id) : await runner.schedules.resume(id)
  if (ctx.opts.json) ctx.printJson({ schedule: info })
  else {
    ctx.print(`${paused ? 'Paused' : 'Resumed'} schedule ${id}.`)
    ctx.print(scheduleRows(ctx, [info]))
  }
  return EXIT_CODES.ok
}

/** `leanflow schedules trigger <id>`: needs the flow's code, which the CLI does not hold. */
export async function schedulesTriggerCommand(ctx: CommandContext, id: string): Promise<ExitCode> {
  const runner = await ctx.session().runner()
  try {
    const { runId } = await runner.schedules.trigger(id)
    if (ctx.opts.json) ctx.printJson({ schedule: id, runId })
    else ctx.print(`Triggered schedule ${id}: run ${runId}.`)
    return EXIT_CODES.ok
  } catch (err) {
    if (!isLeanflowError(err, 'FLOW_NOT_FOUND') && !isLeanflowError(err, 'INVALID_ARGUMENT')) throw err
    const flow = (await runner.schedules.list()).find((s) => s.id === id)?.flow ?? '?'
    throw new CliError(
      EXIT_CODES.failed,
      'FLOW_NOT_FOUND',
      `Schedule "${id}" starts flow "${flow}", whose code the CLI does not hold (a run needs its flow definition): trigger it where the flow is defined — runner.schedules.trigger("${id}") or POST <basePath>/schedules/${id}/trigger.`,
    )
  }
}

/**
 * `leanflow rerun <runId> [--from <step>] [--input <json>] [--key <key>]`: checks the run, the
 * step and the input, then refuses with what works. A rerun starts a new run, and a runner
 * starts a run only of a flow it defines (input schema, limits, retry policy, version): the CLI
 * defines none, and a stand-in would skip the flow's limits and schema.
 */
export async function rerunCommand(
  ctx: CommandContext,
  runId: string,
  o: { from?: string; input?: string; key?: string },
): Promise<ExitCode> {
  const input = o.input === undefined ? undefined : await readJsonArg(ctx, o.input, 'rerun input')
  assertName(runId, 'run id')
  // what the runner would refuse, refused here (exit 2): the key's length, an input its flow.started cannot hold
  if (o.key !== undefined && (o.key.length < 1 || o.key.length > 256))
    throw invalidArgument('rerun idempotencyKey', o.key.length > 64 ? `${o.key.slice(0, 64)}…` : o.key, 'a --key of 1-256 characters')
  const store = ctx.session().store
  const limit = store.maxEventBytes ?? STORE_DEFAULTS.maxEventBytes
  const json = input === undefined ? '' : JSON.stringify(input)
  const bytes = Buffer.byteLength(json, 'utf8')
  if (bytes > limit) throw new PayloadTooLargeError(bytes, limit, 'rerun input')
  const first = (await store.read(runId, { limit: 1 }))[0]
  if (first?.kind !== 'flow.started') throw notFound(runId)
  const started = (first.data ?? {}) as { name?: unknown; steps?: unknown }
  const flow = typeof started.name === 'string' ? started.name : '?'
  const steps = typeof started.steps === 'object' && started.steps !== null ? Object.keys(started.steps) : []
  if (o.from !== undefined && !steps.includes(o.from)) {
    throw new CliError(
      EXIT_CODES.usage,
      'INVALID_ARGUMENT',
      `Run "${runId}" of flow "${flow}" has no step ${JSON.stringify(o.from)}: pass one of ${steps.join(', ')} to --from.`,
    )
  }
  const body: { from?: string; input?: unknown } = {}
  if (o.from !== undefined) body.from = o.from
  // a long input is not written out twice in one line: it is the --input given
  if (o.input !== undefined) body.input = json.length > 200 ? '<the --input given>' : input
  const args = Object.keys(body).length > 0 ? `, ${JSON.stringify(body)}` : ''
  const call = o.key === undefined ? args : `, ${JSON.stringify({ ...body, idempotencyKey: o.key })}`
  // the HTTP header takes visible ASCII only (runner.rerun takes any key of 1-256 characters)
  const header =
    o.key === undefined
      ? ''
      : /^[\x21-\x7e]+$/.test(o.key)
        ? ` with the header Idempotency-Key: ${o.key}`
        : ` (with no Idempotency-Key header: it takes visible ASCII only, which ${JSON.stringify(o.key)} is not, so pass that key to runner.rerun)`
  throw new CliError(
    EXIT_CODES.failed,
    'FLOW_NOT_FOUND',
    `Run "${runId}" of flow "${flow}" was not rerun: a rerun starts a new run, which needs the flow's definition (its input schema, limits and retry policy), and the CLI holds no flow code. Rerun it where flow "${flow}" is defined — runner.rerun("${runId}"${call}) — or through your app's @leanflow/http handler: POST <basePath>/runs/${runId}/rerun${args === '' ? '' : ` with the body ${JSON.stringify(body)}`}${header}.`,
  )
}
