import type { EventRecord } from '@leanflow/core'
import { printable } from './format.js'
import { OPTION_DEFAULTS } from './optionDefaults.js'

/** The key of one await of a step in {@link eventMatches}: the step and the await's position. */
export const awaitKey = (step: string, position: unknown) => `${step}#${typeof position === 'number' ? position : ''}`

/**
 * The `match` of each event await of a run (`step.await.event`'s `data.match`), by
 * {@link awaitKey}: what `show` needs to print a `leanflow publish` that satisfies it.
 *
 * @example
 * ```ts
 * eventMatches(events).get('pay#0') // { 'data.orderId': 'o-1' }
 * ```
 */
export function eventMatches(events: readonly EventRecord[]): Map<string, unknown> {
  const matches = new Map<string, unknown>()
  for (const e of events) {
    if (e.kind !== 'step.await.event' || e.step === undefined) continue
    const data = e.data as { match?: unknown; position?: unknown } | null
    matches.set(awaitKey(e.step, data?.position), data?.match)
  }
  return matches
}

/**
 * The event data a `match` asks for, when every path is under `data.` (`{ 'data.orderId': 'o-1' }`
 * → `{ orderId: 'o-1' }`); `undefined` when it names anything else or its paths collide.
 */
function dataOf(match: Record<string, unknown>, kind: string): Record<string, unknown> | undefined {
  const root: Record<string, unknown> = Object.create(null)
  for (const [path, value] of Object.entries(match)) {
    if (path === 'kind' && value === kind) continue
    const parts = path.split('.')
    if (parts[0] !== 'data' || parts.length < 2) return undefined
    let at = root
    for (const [i, part] of parts.slice(1).entries()) {
      if (i === parts.length - 2) {
        if (part in at) return undefined
        at[part] = value
        break
      }
      const next = at[part] ?? Object.create(null)
      if (typeof next !== 'object' || next === null) return undefined
      at[part] = next
      at = next as Record<string, unknown>
    }
  }
  return root
}

/**
 * The `leanflow publish` that satisfies an event await: the data its `match` asks for, quoted for
 * a POSIX shell (`leanflow publish paid '{"orderId":"o-1"}'`); `'<json>'` when there is no match,
 * and the match shown beside it when `publish` cannot express it. `flags` (from {@link queueFlags})
 * follow the data.
 *
 * @example
 * ```ts
 * publishHint('payment.confirmed', { 'data.orderId': 'o-1' }) // leanflow publish payment.confirmed '{"orderId":"o-1"}'
 * ```
 */
export function publishHint(kind: string, match: unknown, flags = ''): string {
  const command = `leanflow publish ${kind}`
  if (typeof match !== 'object' || match === null || Object.keys(match).length === 0) return `${command} '<json>'${flags}`
  const data = dataOf(match as Record<string, unknown>, kind)
  if (data === undefined) return printable(`${command} '<json>'${flags} (match ${JSON.stringify(match)})`)
  return printable(`${command} ${shellWord(JSON.stringify(data))}${flags}`)
}

/** A word quoted for a POSIX shell: `it's` → `'it'\''s'`. */
export const shellWord = (word: string) => `'${word.replaceAll("'", "'\\''")}'`

/**
 * The options a `resolve` or `publish` printed by `show` needs to act as the command it was
 * given would: `--bullmq` (the step it resumes runs on the workers' queue, docs/cli.md#queues),
 * then the `--prefix`, `--bullmq-queue` and `--bullmq-prefix` that differ from their defaults.
 * The Redis url is left out (it may hold a password): `--redis` or `REDIS_URL`, as given to `show`.
 *
 * @example
 * ```ts
 * queueFlags({ prefix: 'shop', bullmqQueue: 'leanflow', bullmqPrefix: 'q' }) // ' --bullmq --prefix 'shop' --bullmq-prefix 'q''
 * ```
 */
export function queueFlags(opts: {
  cluster?: boolean | undefined
  prefix?: string | undefined
  bullmqQueue?: string
  bullmqPrefix?: string
}): string {
  let flags = ' --bullmq'
  if (opts.cluster) flags += ' --cluster'
  if (opts.prefix !== undefined && opts.prefix !== OPTION_DEFAULTS.prefix) flags += ` --prefix ${shellWord(opts.prefix)}`
  if (opts.bullmqQueue !== undefined && opts.bullmqQueue !== OPTION_DEFAULTS.bullmqQueue)
    flags += ` --bullmq-queue ${shellWord(opts.bullmqQueue)}`
  if (opts.bullmqPrefix !== undefined && opts.bullmqPrefix !== OPTION_DEFAULTS.bullmqPrefix)
    flags += ` --bullmq-prefix ${shellWord(opts.bullmqPrefix)}`
  return printable(flags)
}
