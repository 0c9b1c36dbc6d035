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

/** What a worker process of a benchmark runs on: its runner and what `close` ends after it. */
export interface BenchWorkerParts {
  runner: { start(): Promise<void>; stop(): Promise<void> }
  close: Array<{ close(): Promise<void> }>
}

/**
 * The worker side of {@link forkBenchWorker}: starts `parts.runner`, tells the parent it is ready,
 * hands the parent's messages to `onMessage`, and on SIGTERM stops the runner, closes the rest in
 * order and exits.
 *
 * @example
 * ```ts
 * await serveBenchWorker({ runner, close: [queue, store] }, (m) => { if (m.ask) process.send?.({ n }) })
 * ```
 */
export async function serveBenchWorker<M>(parts: BenchWorkerParts, onMessage: (m: M) => void): Promise<void> {
  await parts.runner.start()
  process.send?.({ ready: true })
  process.on('message', onMessage)
  process.once('SIGTERM', async () => {
    await parts.runner.stop()
    for (const c of parts.close) await c.close()
    process.exit(0)
  })
}
