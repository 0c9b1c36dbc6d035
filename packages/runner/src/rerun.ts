import { assertKnownKeys, assertName, invalidArgument, LeanflowError } from '@leanflow/core'
import { keyAnswer } from './flowControl/admission.js'
import { type RerunOrigin, rerunCopies } from './machine/index.js'
import type { FlowGraph } from './machine/runDoc.js'
import { toJson } from './shell/json.js'
import { flowFor, type Shell } from './shell/shell.js'
import { validateInput } from './standardSchema.js'
import type { RerunOptions, StartedRun } from './startTypes.js'
import type { FlowDefinition } from './types.js'

/** What a rerun starts: the old run's flow version (its definition when held, else its graph from `flow.started`), the input, the origin. */
export interface PreparedRerun {
  flow: FlowDefinition | FlowGraph
  input: unknown
  origin: { rerun: RerunOrigin }
  /** The start lookup of its `idempotencyKey` (`rerunLookup`), when it has one. */
  lookup?: string
}

/**
 * The start lookup of a rerun's idempotency key: `~rerun/<old run id>/<key>`. A `startFlow` key's
 * lookup is `<flow>/<key>` and a flow name never starts with `~`, so no start key, whatever its
 * characters, names a rerun's run (nor a rerun's key a started one); the old run's id (no `/`
 * in a name) scopes the key to reruns of that run.
 *
 * @example
 * ```ts
 * rerunLookup('r1', 'retry-1') // '~rerun/r1/retry-1'
 * ```
 */
export function rerunLookup(runId: string, key: string): string {
  return `~rerun/${runId}/${key}`
}

/**
 * Reads the run `runId` (its document and `flow.started`) and prepares its rerun: the flow and
 * version it ran on, the input (the old one, or `opts.input` checked by that version's schema),
 * and the completed steps to copy (`rerunCopies`). Nothing is written here.
 */
export async function prepareRerun(shell: Shell, runId: string, opts: RerunOptions = {}): Promise<PreparedRerun> {
  assertName(runId, 'run id')
  if (typeof opts !== 'object' || opts === null)
    throw new LeanflowError('INVALID_ARGUMENT', 'rerun options must be an object { from?, input?, idempotencyKey?, traceparent? }.')
  // a misspelt `from` would rerun every step, a misspelt `idempotencyKey` rerun at every call
  assertKnownKeys(opts, ['from', 'input', 'idempotencyKey', 'traceparent'], 'rerun')
  const [source, [first]] = await Promise.all([shell.states.read(runId), shell.store.read(runId, { limit: 1 })])
  if (!source || first?.kind !== 'flow.started') {
    throw new LeanflowError('RUN_NOT_FOUND', `Run "${runId}" does not exist (or has expired): check the run id.`)
  }
  const started = (first.data ?? {}) as { version?: unknown; input?: unknown; steps?: Record<string, { needs?: string[] }> }
  const version = source.version ?? 1
  const held = flowFor(shell, source)
  const graph: FlowGraph = held ?? { name: source.flow, version, steps: started.steps ?? {} }
  if (!held && !shell.flows.has(source.flow)) {
    throw new LeanflowError(
      'FLOW_NOT_FOUND',
      `Flow "${source.flow}" of run "${runId}" is not registered with this runner: add it to createRunner({ flows }) to rerun its runs.`,
    )
  }
  const from = opts.from
  if (from !== undefined && typeof from !== 'string') throw invalidArgument('rerun from', from, 'a step name (a string) of the run')
  const copies = rerunCopies(graph, runId, source, from)
  let input: unknown
  if (opts.input === undefined) {
    // the input the old run ran with (a debounced run's last)
    input = source.input !== undefined ? source.input : (started.input ?? null)
  } else if (held) {
    input = toJson(held.input ? await validateInput(held.name, held.input, opts.input) : opts.input, 'rerun input')
  } else {
    throw new LeanflowError(
      'FLOW_NOT_FOUND',
      `Run "${runId}" ran on version ${version} of flow "${source.flow}", which this runner does not hold${shell.versions.get(source.flow)?.has(version) ? ' as the run ran it (its version here has other steps)' : ''}: a new input cannot be checked against that version's schema. Rerun it without input, or from a runner that holds version ${version}.`,
    )
  }
  const rerun: RerunOrigin = from === undefined ? { of: runId, copies } : { of: runId, from, copies }
  const key = opts.idempotencyKey
  return key === undefined
    ? { flow: graph, input, origin: { rerun } }
    : { flow: graph, input, origin: { rerun }, lookup: rerunLookup(runId, key) }
}

/**
 * {@link prepareRerun}; or, when the old run is gone (`RUN_NOT_FOUND`: expired) and
 * `opts.idempotencyKey` names a rerun of it that is still kept, that rerun's first answer: a repeat
 * with the same key is the first rerun for as long as the rerun is kept, not only its source.
 *
 * @example
 * ```ts
 * const prepared = await prepareOrRepeat(shell, runId, { from: 'b', idempotencyKey: 'k' })
 * if ('runId' in prepared) return prepared // the first rerun of this key
 * ```
 */
export async function prepareOrRepeat(shell: Shell, runId: string, opts: RerunOptions = {}): Promise<PreparedRerun | StartedRun> {
  try {
    return await prepareRerun(shell, runId, opts)
  } catch (err) {
    const key = opts?.idempotencyKey
    if (key === undefined || !(err instanceof LeanflowError) || err.code !== 'RUN_NOT_FOUND') throw err
    const lookup = rerunLookup(runId, key)
    const known = await shell.store.getLookup('start', lookup)
    const doc = known === null ? null : await shell.states.read(known)
    if (known === null || !doc) throw err
    return keyAnswer(known, doc, lookup)
  }
}
