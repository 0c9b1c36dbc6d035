import { invalidArgument, LeanflowError } from '@leanflow/core'

/**
 * A document's JSON (a run's state, a schedule), or INVALID_ARGUMENT before anything is
 * written: `subject` names it in the message of a value JSON cannot hold (`The state of run
 * "r1"`), `what` in the message of a value with no JSON at all (`state of run "r1"`).
 */
export function docJson(doc: unknown, subject: string, what: string): string {
  let json: string | undefined
  try {
    json = JSON.stringify(doc)
  } catch (cause) {
    throw new LeanflowError('INVALID_ARGUMENT', `${subject} cannot be stored as JSON (${String(cause)}): pass plain JSON.`, { cause })
  }
  if (json === undefined) throw invalidArgument(what, String(doc), 'a JSON value (an object)')
  return json
}
