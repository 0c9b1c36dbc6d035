import {
  compareEventIds,
  eventIdOption,
  isLeanflowError,
  isTerminalKind,
  LeanflowError,
  MAX_EVENT_ID,
  type RunStatus,
  readLog,
  reduceFlow,
} from '@leanflow/core'
import { CliError } from './cliError.js'
import type { CommandContext } from './context.js'
import { EXIT_CODES, type ExitCode } from './exitCodes.js'
import { clockOf, formatDuration, formatTime, paintStatus, printable, table } from './format.js'
import { formatEvent } from './formatEvent.js'
import { formatState } from './formatState.js'
import { OPTION_DEFAULTS } from './optionDefaults.js'
import { eventMatches, queueFlags } from './publishHint.js'
import { runEndOf } from './runEndOf.js'

/** The statuses `runs --status` takes. */
export const RUN_STATUSES = ['queued', 'running', 'awaiting', 'completed', 'failed', 'canceled'] as const

/** The error of a run the store does not have. */
export const notFound = (runId: string) =>
  new LeanflowError('RUN_NOT_FOUND', `Run "${runId}" does not exist (or has expired) under this prefix: check the run id and --prefix.`)

/** `leanflow flows`. */
export async function flowsCommand(ctx: CommandContext): Promise<ExitCode> {
  const flows = (await ctx.session().store.listFlows()).sort((a, b) => a.flow.localeCompare(b.flow))
  if (ctx.opts.json) ctx.printJson({ flows })
  else if (flows.length === 0)
    ctx.note(`No flows have runs under prefix "${ctx.opts.prefix ?? OPTION_DEFAULTS.prefix}" (is --prefix right?).`)
  else
    ctx.print(
      table(
        ['flow', 'runs'],
        flows.map((f) => [f.flow, String(f.runs)]),
        ctx.c,
      ),
    )
  return EXIT_CODES.ok
}

/** `leanflow runs <flow>`. */
export async function runsCommand(ctx: CommandContext, flow: string, o: { status?: RunStatus; limit: number }): Promise<ExitCode> {
  const runs = await ctx.session().store.listRuns(flow, { limit: o.limit, status: o.status })
  if (ctx.opts.json) ctx.printJson({ runs })
  else if (runs.length === 0) ctx.note(`No ${o.status ? `${o.status} ` : ''}runs of flow "${flow}".`)
  else {
    const now = Date.now()
    ctx.print(
      table(
        ['run', 'status', 'started', 'duration'],
        runs.map((r) => [
          r.runId,
          paintStatus(r.status, ctx.c),
          formatTime(r.startedAt),
          formatDuration((r.completedAt ? Date.parse(r.completedAt) : now) - Date.parse(r.startedAt)),
        ]),
        ctx.c,
      ),
    )
  }
  return EXIT_CODES.ok
}

/** `leanflow show <runId>`. */
export async function showCommand(ctx: CommandContext, runId: string): Promise<ExitCode> {
  const events = await readLog(ctx.session().store, runId)
  if (events.length === 0) throw notFound(runId)
  const state = reduceFlow(events)
  if (ctx.opts.json) {
    ctx.printJson({ state, lastEventId: state.lastEventId })
    return EXIT_CODES.ok
  }
  ctx.print(formatState(runId, state, ctx.c, Date.now(), eventMatches(events), queueFlags(ctx.opts)))
  const logs = state.logs.slice(-5)
  if (logs.length > 0) {
    ctx.print('')
    ctx.print(ctx.c.bold(`logs${state.logs.length > logs.length ? ` (last ${logs.length} of ${state.logs.length})` : ''}`))
    for (const l of logs)
      ctx.print(
        `  ${ctx.c.dim(clockOf(l.ts))} ${printable(String(l.level)).padEnd(5)} ${l.step ? `${l.step}: ` : ''}${printable(String(l.msg))}`,
      )
  }
  return EXIT_CODES.ok
}

/** The exit code of a run that ended with `kind`. */
export function exitOfEnd(kind: string): ExitCode {
  return kind === 'flow.completed' ? EXIT_CODES.ok : kind === 'flow.canceled' ? EXIT_CODES.canceled : EXIT_CODES.failed
}

/**
 * `leanflow tail <runId>`: the run's events from the start (or after `--after`), then live, one
 * line each, until the run ends; the exit code says how it ended.
 */
export async function tailCommand(ctx: CommandContext, runId: string, o: { after?: string }): Promise<ExitCode> {
  // checked before the run's end is compared with it: a finished run would else exit with its outcome
  // the store's own check (its shape, each part at most 2^64 - 1): a finished run would not ask the store
  try {
    eventIdOption('tail', '--after', o.after)
  } catch {
    throw new CliError(
      EXIT_CODES.usage,
      'USAGE',
      `--after must be an event id "<ms>-<seq>" (as tail prints with --json), each part at most 18446744073709551615 (the largest id is "${MAX_EVENT_ID}"); got "${printable(o.after as string)}".`,
    )
  }
  const store = ctx.session().store
  const last = (await store.read(runId, { direction: 'backward', limit: 1 }))[0]
  if (!last) throw notFound(runId)
  if (o.after !== undefined) {
    // a finished run whose end is at or before --after has nothing more to show
    const end = await runEndOf(store, runId, last)
    if (end !== undefined && compareEventIds(end.id, o.after) <= 0) return exitOfEnd(end.kind)
  }
  try {
    for await (const e of store.follow(runId, { after: o.after, signal: ctx.io.signal })) {
      if (ctx.opts.json) ctx.printJson(e)
      else ctx.print(formatEvent(e, ctx.c))
      if (isTerminalKind(e.kind)) return exitOfEnd(e.kind)
    }
  } catch (err) {
    // the store's advice is a page's (reload from the start); a tail's is to drop --after
    if (!isLeanflowError(err, 'HISTORY_GONE') || o.after === undefined) throw err
    throw new CliError(
      EXIT_CODES.notFound,
      'HISTORY_GONE',
      `Run "${runId}" has no event "${o.after}" or later (--after is past its last event): tail it without --after, or with the id of one of its events.`,
    )
  }
  // interrupted (Ctrl-C, SIGTERM, or the reader of its output left: `| head -3`): 130 only while
  // the run goes on; one that had ended exits with how it ended, so a script still tells a failed run
  const end = await runEndOf(store, runId).catch(() => undefined)
  return end ? exitOfEnd(end.kind) : EXIT_CODES.interrupted
}
