import { errorMessage } from './errorMessage.js'
import { type FlowGraph, type RunDoc, sinkSteps } from './runDoc.js'

/**
 * A run's result, computed once when its last step completes: its sink steps' results by step
 * name, or what the flow's `result` function makes of every step's result (`defineFlow({ result })`),
 * kept in the document so that a repair derives the same `flow.completed` again. A `result`
 * function that throws, returns a promise or a value that is not JSON fails the run instead.
 */
export function flowResult(flow: FlowGraph, doc: RunDoc): { value: unknown } | { error: string } {
  if (!flow.result) {
    const sinks: Record<string, unknown> = {}
    for (const sink of sinkSteps(flow)) sinks[sink] = doc.steps[sink]?.result
    return { value: sinks }
  }
  const results: Record<string, unknown> = {}
  for (const [name, s] of Object.entries(doc.steps)) results[name] = s.result
  const fail = (why: string) => ({ error: `The result function of flow "${doc.flow}" ${why}.` })
  let value: unknown
  try {
    value = flow.result(Object.freeze(results))
  } catch (err) {
    return fail(`threw: ${errorMessage(err)}`)
  }
  if (typeof (value as { then?: unknown } | null)?.then === 'function') {
    return fail('returned a promise: it must be synchronous (compute async values in a step)')
  }
  if (value === undefined) return { value: undefined }
  try {
    return { value: JSON.parse(JSON.stringify(value) ?? 'null') }
  } catch (err) {
    return fail(`returned a value that is not JSON (${errorMessage(err)})`)
  }
}
