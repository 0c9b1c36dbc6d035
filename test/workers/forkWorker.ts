import { type ChildProcess, fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../..', import.meta.url))
const tsconfig = fileURLToPath(new URL('../../tsconfig.json', import.meta.url))

/** A forked worker script and the IPC messages it sent. */
export interface ForkedWorker {
  proc: ChildProcess
  pid: number
  messages: Array<Record<string, unknown>>
  /** Resolves with the first message (already received or future) that `match` accepts (default wait 60 s: a loaded machine starts tsx workers slowly). */
  waitFor(match: (msg: Record<string, unknown>) => boolean, what: string, timeoutMs?: number): Promise<Record<string, unknown>>
  /** Resolves with the exit code or signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  kill(signal: NodeJS.Signals): void
}

/**
 * Forks `test/workers/<script>` under tsx with the root tsconfig (its `paths`
 * map `@leanflow/*` to `packages/*\/src`, as vitest's aliases do), `env` added.
 */
export function forkWorker(script: string, env: Record<string, string>): ForkedWorker {
  const path = fileURLToPath(new URL(`./${script}`, import.meta.url))
  const proc = fork(path, [], {
    cwd: root,
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, TSX_TSCONFIG_PATH: tsconfig, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const messages: Array<Record<string, unknown>> = []
  const waiters = new Set<() => void>()
  proc.on('message', (m) => {
    messages.push(m as Record<string, unknown>)
    for (const w of [...waiters]) w()
  })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.once('exit', (code, signal) => {
      for (const w of [...waiters]) w()
      resolve({ code, signal })
    })
  })
  return {
    proc,
    pid: proc.pid ?? -1,
    messages,
    exited,
    kill: (signal) => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal)
    },
    waitFor(match, what, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const hit = messages.find(match)
          if (hit) {
            cleanup()
            resolve(hit)
          } else if (proc.exitCode !== null || proc.signalCode !== null) {
            cleanup()
            reject(new Error(`worker ${proc.pid} exited before ${what}`))
          }
        }
        const timer = setTimeout(() => {
          cleanup()
          reject(new Error(`Timed out after ${timeoutMs} ms waiting for ${what} from worker ${proc.pid}`))
        }, timeoutMs)
        const cleanup = () => {
          clearTimeout(timer)
          waiters.delete(check)
        }
        waiters.add(check)
        check()
      })
    },
  }
}

/** SIGTERM every worker (they drain), SIGKILL any still running after `graceMs`; empties `workers`. */
export async function stopWorkers(workers: ForkedWorker[], graceMs = 10_000): Promise<void> {
  await Promise.all(
    workers.splice(0).map(async (w) => {
      w.kill('SIGTERM')
      await Promise.race([w.exited, new Promise((r) => setTimeout(r, graceMs))])
      w.kill('SIGKILL')
    }),
  )
}
