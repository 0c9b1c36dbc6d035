import { BaseSequencer, type TestSpecification } from 'vitest/node'

/**
 * The longest test files, longest first, with their seconds in a fresh-clone CI run (2 cores, 4
 * files at a time, 2026-12-07). A fresh clone has no Vitest cache, so Vitest would order by file
 * size: the 93 s BullMQ lease faults started at 305 s, the packed packages (67 s) at 539 s, and
 * the run's end waited on them with the CPU half idle. Started first, they overlap the many short
 * files instead. Two fault files (worker processes SIGKILLed and restarted) go with two lighter
 * ones, so the heaviest do not all start together. A file not listed keeps Vitest's order, after
 * these; the figures only order the list (update them when a file's time changes a lot).
 */
const SLOW: ReadonlyArray<readonly [file: string, seconds: number]> = [
  ['test/faults/composition.test.ts', 114],
  ['test/cli/cli.test.ts', 65],
  ['test/faults/bullmq.lease.test.ts', 93],
  ['test/packed/packed.test.ts', 67],
  ['test/faults/compositionFanout.test.ts', 87],
  ['test/runner/schedules.test.ts', 44],
  ['test/faults/reruns.test.ts', 75],
  ['test/http/runner.test.ts', 40],
  ['test/faults/compositionCancel.test.ts', 36],
  ['test/dashboard/dashboard.test.ts', 35],
  ['test/cli/cliFailures.test.ts', 34],
  ['test/demo/browser.test.ts', 33],
  ['test/faults/bullmq.queue.test.ts', 30],
  ['test/faults/bullmq.drain.test.ts', 27],
  ['test/bullmq/multiprocess.test.ts', 27],
  ['test/demo/redis.test.ts', 24],
  ['test/dashboard/dashboardOutage.test.ts', 24],
  ['test/cli/cluster.test.ts', 23],
  ['test/faults/bullmq.runner.test.ts', 22],
  ['test/runner/schedules.cluster.test.ts', 21],
  ['test/docs/samples.test.ts', 21],
  ['test/faults/versions.test.ts', 20],
  ['test/postgres/conformance.test.ts', 20],
  ['test/redis/limitStore.conformance.test.ts', 15],
  ['test/faults/redisManyFollowers.test.ts', 14],
]
const rank = new Map(SLOW.map(([file], i) => [file, i]))

/**
 * Vitest's sequencer with the files of {@link SLOW} first, in its order (the files that run alone
 * form their own group after the others whatever the order: this only orders the parallel ones).
 *
 * @example
 * ```ts
 * defineConfig({ test: { sequence: { sequencer: SlowFirst } } })
 * ```
 */
export class SlowFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files)
    const root = `${this.ctx.config.root}/`
    const of = (spec: TestSpecification) => rank.get(spec.moduleId.replace(root, '')) ?? SLOW.length
    // stable: ties (every file not listed) keep the base order
    return sorted
      .map((spec, i) => ({ spec, i, r: of(spec) }))
      .sort((a, b) => a.r - b.r || a.i - b.i)
      .map((x) => x.spec)
  }
}
