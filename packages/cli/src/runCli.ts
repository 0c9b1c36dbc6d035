import { Command, CommanderError, InvalidArgumentError, Option } from 'commander'
import {
  cancelCommand,
  publishCommand,
  rerunCommand,
  resolveCommand,
  schedulesListCommand,
  schedulesPauseCommand,
  schedulesTriggerCommand,
} from './actCommands.js'
import { describeError, redactUrl } from './cliError.js'
import { createColors, wantsColor } from './colors.js'
import type { CliIO, CommandContext } from './context.js'
import { EXIT_CODES, type ExitCode } from './exitCodes.js'
import { OPTION_DEFAULTS } from './optionDefaults.js'
import { flowsCommand, RUN_STATUSES, runsCommand, showCommand, tailCommand } from './readCommands.js'
import { type GlobalOptions, openSession, type Session } from './session.js'
import { cliVersion } from './version.js'

const positiveInt = (value: string) => {
  const n = Number(value)
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('Not a whole number above 0.')
  return n
}

/** A write to a pipe whose reader has left (`EPIPE`), or a later one to the stream it destroyed. */
const closedPipe = (err: NodeJS.ErrnoException) => err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED'

/** The runs of `runCli` on the process's own streams that a closed stdout stops. */
const onProcessStdout = new Set<() => void>()

/**
 * `leanflow … | head`: once the reader of stdout is gone, stop as Ctrl-C does (a `tail` ends as
 * interrupted) instead of following on, or dying of Node's unhandled 'error' with a stack trace.
 * Listens once per process, however many times `runCli` runs.
 */
function watchClosedPipes(): void {
  if (process.stdout.listeners('error').includes(stdoutError)) return
  process.stdout.on('error', stdoutError)
  process.stderr.on('error', stderrError)
}
function stdoutError(err: NodeJS.ErrnoException): void {
  if (!closedPipe(err)) throw err
  for (const stop of onProcessStdout) stop()
}
function stderrError(err: NodeJS.ErrnoException): void {
  if (!closedPipe(err)) throw err
}

/** The process's own streams, environment and an abort on SIGINT/SIGTERM or a closed stdout. */
function processIO(): CliIO {
  const ac = new AbortController()
  const stop = () => {
    onProcessStdout.delete(stop)
    ac.abort()
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  onProcessStdout.add(stop)
  watchClosedPipes()
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env, signal: ac.signal }
}

/**
 * Runs `leanflow` with `argv` (the arguments after the program name) and resolves to its exit
 * code ({@link EXIT_CODES}); it never calls `process.exit`.
 *
 * @example
 * ```ts
 * import { runCli } from '@leanflow/cli'
 * process.exitCode = await runCli(['show', runId, '--json'])
 * ```
 */
export async function runCli(argv: readonly string[], io: CliIO = processIO()): Promise<ExitCode> {
  let session: Session | undefined
  let exitCode: ExitCode = EXIT_CODES.ok
  const c = createColors(wantsColor(io.stdout, io.env))
  const ce = createColors(wantsColor(io.stderr, io.env))
  // --json before or after the command: usage errors are then one JSON line on stderr too
  // (commander's text and help are held back), as every other error is
  const jsonMode = argv.slice(0, endOfOptions(argv)).includes('--json')

  const program = new Command('leanflow')
  const context = (cmd: Command): CommandContext => {
    const opts = cmd.optsWithGlobals<GlobalOptions>()
    // --redis, else REDIS_URL of io.env (the process's in `leanflow`, the caller's from code)
    if (opts.redis === undefined) opts.redis = io.env.REDIS_URL
    return {
      io,
      opts,
      c,
      ce,
      session: () => {
        session ??= openSession(opts, (err) => {
          // what the runner reports while a command goes on (it may still succeed): its code too
          const d = describeError(err)
          io.stderr.write(`leanflow: ${d.code} ${d.message}\n`)
        })
        return session
      },
      print: (line) => io.stdout.write(`${line}\n`),
      printJson: (value) => io.stdout.write(`${JSON.stringify(value)}\n`),
      note: (line) => io.stderr.write(`${line}\n`),
    }
  }
  /** An action: runs `fn` with the context and keeps its exit code. */
  const act =
    <A extends unknown[]>(fn: (ctx: CommandContext, ...args: A) => Promise<ExitCode>) =>
    async (...args: unknown[]) => {
      const cmd = args.at(-1) as Command
      // commander passes the arguments, the command's options, then the command
      exitCode = await fn(context(cmd), ...(args.slice(0, -1) as A))
    }

  // every command made below with .command() inherits the help, suggestion, exitOverride and
  // output settings set here (commander copies them to each subcommand)
  program
    .description('leanflow on the command line: look at flows and runs in Redis, follow a run live, act on runs and schedules.')
    .version(cliVersion(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help for a command')
    .addOption(new Option('--redis <url>', 'Redis URL of the store (default: $REDIS_URL)'))
    .option('--cluster', '--redis names one node of a Redis Cluster (the others are found from it)')
    .addOption(new Option('--prefix <prefix>', 'key prefix of the store (default: "lf")'))
    .option('--json', 'machine output: one JSON document (tail: one JSON object per line)')
    .option('--timeout <ms>', 'how long a Redis command may wait before giving up (exit 4)', '3000')
    .option('--bullmq', "queue resumed steps on the workers' BullMQ queue (resolve, publish; needs @leanflow/bullmq)")
    .option('--bullmq-queue <name>', 'BullMQ queue name of the workers', OPTION_DEFAULTS.bullmqQueue)
    .option('--bullmq-prefix <prefix>', 'BullMQ key prefix of the workers', OPTION_DEFAULTS.bullmqPrefix)
    .showSuggestionAfterError()
    .showHelpAfterError(!jsonMode)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => {
        if (!jsonMode) io.stderr.write(s)
      },
      outputError: (s, write) => write(ce.red(s)),
    })
    .addHelpText(
      'after',
      `
Exit codes: 0 ok (tail: the run completed), 1 failed (tail: the run failed), 2 usage,
3 not found, 4 Redis unreachable, 5 (tail) the run was canceled, 130 interrupted.
Docs: https://github.com/leanflow/leanflow/blob/main/docs/cli.md`,
    )

  program
    .command('flows')
    .description('list the flows that have runs, with their run counts')
    .action(act((ctx) => flowsCommand(ctx)))

  program
    .command('runs')
    .description('list the runs of a flow, newest first')
    .argument('<flow>', 'flow name')
    .addOption(new Option('--status <status>', 'only runs with this status').choices(RUN_STATUSES))
    .option('--limit <n>', 'at most this many runs', positiveInt, 20)
    .action(act((ctx, flow: string, o: { status?: (typeof RUN_STATUSES)[number]; limit: number }) => runsCommand(ctx, flow, o)))

  program
    .command('show')
    .description("a run's state: status, timings, each step's status, attempts and duration, pending awaits, last error")
    .argument('<runId>', 'run id')
    .action(act((ctx, runId: string) => showCommand(ctx, runId)))

  program
    .command('tail')
    .description("follow a run's events live, one line each, until the run ends (exit 0 completed, 1 failed, 5 canceled)")
    .argument('<runId>', 'run id')
    .option('--after <eventId>', 'start after this event id instead of the first event')
    .action(act((ctx, runId: string, o: { after?: string }) => tailCommand(ctx, runId, o)))

  program
    .command('cancel')
    .description('cancel a run: abort its running step, drop its pending jobs and awaits, append flow.canceled')
    .argument('<runId>', 'run id')
    .option('--reason <text>', 'why (recorded in flow.canceled)')
    .action(act((ctx, runId: string, o: { reason?: string }) => cancelCommand(ctx, runId, o)))

  program
    .command('resolve')
    .description('resolve a trigger a step awaits (ctx.await.trigger) with a JSON payload')
    .argument('<triggerId>', 'trigger id (from show, tail or step.await.trigger)')
    .argument('[json]', 'the payload as JSON, or - to read it from stdin (default: null)')
    .action(act((ctx, triggerId: string, json: string | undefined) => resolveCommand(ctx, triggerId, json)))

  program
    .command('publish')
    .description('publish an external event (satisfies ctx.await.event of waiting runs)')
    .argument('<kind>', 'event kind, e.g. payment.confirmed')
    .argument('[json]', 'the event data as JSON, or - to read it from stdin (default: null)')
    .option('--key <idempotencyKey>', 'a repeat with the same key publishes once')
    .action(act((ctx, kind: string, json: string | undefined, o: { key?: string }) => publishCommand(ctx, kind, json, o)))

  program
    .command('rerun')
    .description("rerun a run, from a step or with a new input (needs the flow's code: see docs/cli.md#reruns)")
    .argument('<runId>', 'the run to rerun')
    .option('--from <step>', 'copy the steps outside this one and its descendants, run the rest again (default: every step)')
    .option('--input <json>', 'a new input as JSON, or - to read it from stdin (default: the old input)')
    .option('--key <idempotencyKey>', 'a repeat with the same key returns the first rerun')
    .action(act((ctx, runId: string, o: { from?: string; input?: string; key?: string }) => rerunCommand(ctx, runId, o)))

  const schedules = program.command('schedules').description('list, pause, resume or trigger schedules (default: list)')
  // `list` is the default, so commander hands it an unknown subcommand as an argument
  // ("too many arguments for 'list'"): name it as the unknown command it is
  schedules.hook('preSubcommand', (cmd, sub) => {
    const first = cmd.args[0]
    if (sub.name() === 'list' && first !== undefined && first !== 'list')
      cmd.error(`error: unknown command 'schedules ${first}': use schedules list, pause <id>, resume <id> or trigger <id>.`, {
        code: 'commander.unknownCommand',
        exitCode: EXIT_CODES.usage,
      })
  })
  schedules
    .command('list', { isDefault: true })
    .description('list every schedule: cadence, paused or active, next and last run')
    .action(act((ctx) => schedulesListCommand(ctx)))
  schedules
    .command('pause')
    .description('stop firing a schedule, on every runner')
    .argument('<id>', 'schedule id')
    .action(act((ctx, id: string) => schedulesPauseCommand(ctx, id, true)))
  schedules
    .command('resume')
    .description('fire a paused schedule again from its next tick')
    .argument('<id>', 'schedule id')
    .action(act((ctx, id: string) => schedulesPauseCommand(ctx, id, false)))
  schedules
    .command('trigger')
    .description("start a run now (needs the flow's code: see docs/cli.md#schedules)")
    .argument('<id>', 'schedule id')
    .action(act((ctx, id: string) => schedulesTriggerCommand(ctx, id)))

  try {
    await program.parseAsync(argv, { from: 'user' })
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help, help [command] and --version exit 0; a missing command (help shown as an error),
      // argument or bad option is a usage error
      const asked =
        err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || (err.code === 'commander.help' && err.exitCode === 0)
      exitCode = asked ? EXIT_CODES.ok : EXIT_CODES.usage
      if (jsonMode && exitCode === EXIT_CODES.usage)
        io.stderr.write(`${JSON.stringify({ error: { code: 'USAGE', message: usageMessage(err) } })}\n`)
    } else {
      const d = clusterAdvice(describeError(err), program.opts<GlobalOptions>(), session)
      exitCode = d.exitCode
      const hint =
        d.exitCode === EXIT_CODES.unreachable && session && !d.message.includes('is it running?')
          ? // the store's message names the url already when it could not connect: then only where it came from
            d.message.includes(' is not reached: ')
            ? ' (--redis or REDIS_URL)'
            : ` Is Redis running at ${redactUrl(session.url)}? (--redis or REDIS_URL; --timeout to wait longer)`
          : ''
      if (program.opts<GlobalOptions>().json) io.stderr.write(`${JSON.stringify({ error: { code: d.code, message: d.message + hint } })}\n`)
      else io.stderr.write(`${ce.red(`leanflow: ${d.code}`)} ${d.message}${hint}\n`)
    }
  } finally {
    await closeQuietly(session)
  }
  return exitCode
}

type Described = ReturnType<typeof describeError>

/**
 * A command's error as the CLI's advice: without `--cluster`, a plain connection's `MOVED` or
 * `CROSSSLOT` (the Redis of `--redis` is a Cluster node; the store's advice is for code, a Cluster
 * client; the CLI's is `--cluster`); with it, why no node answered ({@link unreachedCluster}).
 */
function clusterAdvice(d: Described, opts: GlobalOptions, session: Session | undefined): Described {
  const where = session ? ` at ${redactUrl(session.url)}` : ''
  if (opts.cluster) return unreachedCluster(d, where, session?.clusterError())
  if (d.code !== 'INTERNAL' || !/the server is a Redis Cluster node/.test(d.message)) return d
  const reply = /\((ReplyError: )?((MOVED|ASK|CROSSSLOT)[^)]*)\)/.exec(d.message)?.[2]
  return {
    ...d,
    message: `The Redis${where} is a node of a Redis Cluster${reply ? ` (${reply})` : ''}, and a plain connection does not follow its slots: pass --cluster, with --redis naming any one of its nodes.`,
  }
}

/**
 * With `--cluster`, a command that found no node to answer: why, from what the nodes said (the
 * cluster's own error says only that it gave up, or that its client is closed): a server that is
 * no Cluster (drop --cluster, exit 2), refused credentials (exit 1), else unreachable (exit 4).
 */
function unreachedCluster(d: Described, where: string, node: Error | undefined): Described {
  if (d.code !== 'STORE_UNAVAILABLE' || node === undefined) return d
  const said = node.message.split('\n')[0] ?? node.message
  if (/cluster support disabled/i.test(said))
    return { exitCode: EXIT_CODES.usage, code: 'USAGE', message: `The Redis${where} is no Cluster (${said}): drop --cluster.` }
  if (/^-?(WRONGPASS|NOAUTH|NOPERM)\b/.test(said))
    return {
      exitCode: EXIT_CODES.failed,
      code: 'INTERNAL',
      message: `Redis refused the connection's credentials (${said}): check the user and password in --redis (redis://user:password@host:port) and the user's ACL.`,
    }
  return {
    exitCode: EXIT_CODES.unreachable,
    code: 'STORE_UNAVAILABLE',
    message: `No node of the Redis Cluster${where} answered (${said}): is it running? (--redis or REDIS_URL; --timeout to wait longer)`,
  }
}

/** The index of `--` in `argv` (what follows it is arguments, never options), or its length. */
function endOfOptions(argv: readonly string[]): number {
  const i = argv.indexOf('--')
  return i === -1 ? argv.length : i
}

/** A commander usage error as one line: its message without the `error: ` prefix, or what to do when no command was given. */
function usageMessage(err: CommanderError): string {
  if (err.code === 'commander.help') return 'No command given: run leanflow --help for the commands.'
  return err.message
    .replace(/^error: /, '')
    .replace(/\s*\n\s*/g, ' ')
    .trim()
}

/** Closes the session, never waiting long on a Redis that does not answer. */
async function closeQuietly(session: Session | undefined): Promise<void> {
  if (!session) return
  let timer: ReturnType<typeof setTimeout> | undefined
  await Promise.race([
    session.close().catch(() => {}),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, 1000)
    }),
  ])
  clearTimeout(timer)
}
