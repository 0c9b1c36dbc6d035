// Runs the `leanflow` CLI as a real child process: packages/cli/src/bin.ts bundled once with esbuild,
// @leanflow/* taken from packages/*/src as vitest's aliases do (no build needed), its npm
// dependencies left to node_modules; plain `node` then starts it in a fraction of tsx's time.
import { spawn } from 'node:child_process'
import { mkdirSync, rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const root = fileURLToPath(new URL('../..', import.meta.url))
const src = (p: string) => fileURLToPath(new URL(`../../packages/${p}`, import.meta.url))
/** In packages/cli (git-ignored .tmp/): commander, ioredis and bullmq resolve from its node_modules, ../package.json is its own. */
const outDir = src('cli/.tmp')
let bin: string | undefined

/** Bundles the CLI from source (call it in beforeAll); returns the file `leanflow` runs. */
export async function buildCli(): Promise<string> {
  mkdirSync(outDir, { recursive: true })
  const outfile = `${outDir}/bin-${process.pid}.mjs`
  await build({
    entryPoints: [src('cli/src/bin.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'error',
    external: ['commander', 'ioredis', 'bullmq'],
    alias: Object.fromEntries(['core', 'redis', 'runner', 'bullmq'].map((p) => [`@leanflow/${p}`, src(`${p}/src/index.ts`)])),
  })
  bin = outfile
  return outfile
}

/** Removes the bundle (call it in afterAll). */
export function removeCli(): void {
  if (bin) rmSync(bin, { force: true })
  bin = undefined
}

export interface CliResult {
  code: number | null
  stdout: string
  stderr: string
  /** Wall time, ms. */
  ms: number
}

export interface CliOptions {
  env?: Record<string, string | undefined>
  /** Written to stdin, then closed. */
  input?: string
  timeoutMs?: number
  /** Close the reading end of its stdout at once, as `leanflow … | head -0` does: its writes then fail (EPIPE). */
  closeStdout?: boolean
  /** Read nothing of its stdout (a reader that stalls) and send it SIGINT this many ms after it first wrote. */
  stallThenInterruptMs?: number
}

/** `leanflow ...args`; resolves when it exits (SIGKILLed after `timeoutMs`). */
export function leanflow(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  const t0 = Date.now()
  if (!bin) throw new Error('leanflow: call buildCli() in beforeAll first')
  const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: undefined, FORCE_COLOR: undefined }
  delete env.REDIS_URL
  Object.assign(env, opts.env)
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k]
  const proc = spawn(process.execPath, [bin, ...args], { cwd: root, env, stdio: ['pipe', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  // the interrupt goes once the CLI writes (it has its handlers then: a SIGINT before, on a loaded
  // machine where it starts slowly, killed it by default, with no exit code)
  if (opts.stallThenInterruptMs !== undefined) {
    const ms = opts.stallThenInterruptMs
    proc.stdout.once('readable', () => setTimeout(() => proc.kill('SIGINT'), ms))
  } else
    proc.stdout.on('data', (d: Buffer) => {
      stdout += d.toString()
    })
  proc.stderr.on('data', (d: Buffer) => {
    stderr += d.toString()
  })
  if (opts.closeStdout) proc.stdout.destroy()
  proc.stdin.end(opts.input ?? '')
  const timer = setTimeout(() => proc.kill('SIGKILL'), opts.timeoutMs ?? 20_000)
  return new Promise((resolve) => {
    proc.once('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr, ms: Date.now() - t0 })
    })
  })
}
