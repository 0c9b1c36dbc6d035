import { type ChildProcess, fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/**
 * Forks the benchmark script `script` (an `import.meta.url`) again as a worker process
 * (`--worker`, with tsx and the benchmarks' tsconfig), handing it `target` as `BENCH_TARGET`
 * (JSON), and waits for its first message (it is ready).
 *
 * @example
 * ```ts
 * const child = await forkBenchWorker(import.meta.url, { url, prefix })
 * ```
 */
export async function forkBenchWorker(script: string, target: unknown): Promise<ChildProcess> {
  const child = fork(fileURLToPath(script), ['--worker'], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    execArgv: ['--import', 'tsx'],
    env: {
      ...process.env,
      BENCH_TARGET: JSON.stringify(target),
      TSX_TSCONFIG_PATH: fileURLToPath(new URL('../tsconfig.json', import.meta.url)),
    },
  })
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve())
    child.once('exit', (code) => reject(new Error(`bench worker exited ${code}`)))
  })
  return child
}
