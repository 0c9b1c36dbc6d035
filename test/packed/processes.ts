// Child processes for test/packed: a command run to its end, and a long-running one (a sample
// server or worker) whose output is watched. Every failure message carries the command, the
// directory and everything it printed, so a broken install or sample says why.
import { type ChildProcess, spawn } from 'node:child_process'

/** What a finished command printed. */
export interface Output {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/** Options of {@link run} and {@link start}. */
export interface RunOptions {
  cwd: string
  env?: Record<string, string | undefined>
  /** Kill the command (SIGKILL) and fail after this long. @default 120_000 */
  timeoutMs?: number
  /** Resolve with a non-zero exit instead of failing. */
  allowFailure?: boolean
}

/**
 * The environment for a user's shell: this process's, without what pnpm and vitest add for
 * their own scripts (`npm_package_*`, `npm_lifecycle_*`, `PNPM_*`, `VITEST*`, …), which would
 * otherwise leak into npm and node in the test project.
 */
export function userEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(npm_(package|lifecycle|execpath|node_execpath|config_user_agent)|pnpm_|PNPM_|VITEST|NODE_OPTIONS$|TEST$)/i.test(k)) continue
    env[k] = v
  }
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k]
    else env[k] = v
  }
  return env
}

function describe(cmd: string, args: string[], cwd: string): string {
  return `\`${[cmd, ...args].join(' ')}\` in ${cwd}`
}

/** Formats a command's output for an error message (the last 6,000 characters of each stream). */
export function printed(out: { stdout: string; stderr: string }): string {
  const tail = (s: string) => (s.length > 6000 ? `…${s.slice(-6000)}` : s)
  return `--- stdout ---\n${tail(out.stdout)}\n--- stderr ---\n${tail(out.stderr)}`
}

/** Runs a command to its end; rejects on a non-zero exit or a timeout, with all it printed. */
export function run(cmd: string, args: string[], opts: RunOptions): Promise<Output> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: userEnv(opts.env), stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => void (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => void (stderr += d.toString()))
    const timeoutMs = opts.timeoutMs ?? 120_000
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`${describe(cmd, args, opts.cwd)} did not finish within ${timeoutMs} ms\n${printed({ stdout, stderr })}`))
    }, timeoutMs)
    child.on('error', (err) => {
      clearTimeout(timer)
      reject(new Error(`${describe(cmd, args, opts.cwd)} could not start: ${err.message}`))
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      const out = { code, signal, stdout, stderr }
      if (code === 0 || opts.allowFailure) resolve(out)
      else reject(new Error(`${describe(cmd, args, opts.cwd)} exited with ${code ?? signal}\n${printed(out)}`))
    })
  })
}

/** A long-running command (a server, a worker). */
export interface Started {
  readonly child: ChildProcess
  readonly stdout: () => string
  readonly stderr: () => string
  /** Resolves once stdout matches `pattern`; rejects if the process exits first or after `ms`. */
  waitFor(pattern: RegExp, ms?: number): Promise<void>
  /** Sends `signal` and resolves with the exit once the process has exited (SIGKILL after `ms`). */
  stop(signal?: NodeJS.Signals, ms?: number): Promise<Output>
  /** The exit, whenever it comes. */
  readonly exited: Promise<Output>
  /** The command, its directory and what it printed so far, for error messages. */
  report(): string
}

/** Starts a long-running command and watches its output. */
export function start(cmd: string, args: string[], opts: RunOptions): Started {
  const child = spawn(cmd, args, { cwd: opts.cwd, env: userEnv(opts.env), stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  const listeners = new Set<() => void>()
  const changed = () => {
    for (const l of listeners) l()
  }
  child.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString()
    changed()
  })
  child.stderr?.on('data', (d: Buffer) => void (stderr += d.toString()))
  const exited = new Promise<Output>((resolve) => {
    child.on('error', (err) => {
      stderr += `\n[spawn error] ${err.message}`
      resolve({ code: null, signal: null, stdout, stderr })
    })
    child.on('close', (code, signal) => {
      resolve({ code, signal, stdout, stderr })
      changed()
    })
  })
  const report = () => `${describe(cmd, args, opts.cwd)}\n${printed({ stdout, stderr })}`
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    report,
    waitFor(pattern, ms = 30_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => done(new Error(`no output matching ${pattern} within ${ms} ms from ${report()}`)), ms)
        const check = () => {
          if (pattern.test(stdout)) done()
          else if (child.exitCode !== null || child.signalCode !== null)
            done(new Error(`exited (${child.exitCode ?? child.signalCode}) before printing ${pattern}: ${report()}`))
        }
        const done = (err?: Error) => {
          clearTimeout(timer)
          listeners.delete(check)
          if (err) reject(err)
          else resolve()
        }
        listeners.add(check)
        check()
      })
    },
    async stop(signal = 'SIGTERM', ms = 20_000) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      const timer = setTimeout(() => child.kill('SIGKILL'), ms)
      const out = await exited
      clearTimeout(timer)
      return out
    },
  }
}
