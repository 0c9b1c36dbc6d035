import { customAlphabet } from 'nanoid'

/** A new random id of 21 characters over [A-Za-z0-9]: run ids, trigger ids, leases. */
export const newId = customAlphabet('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz', 21)

/**
 * A new lease for an execution of `job`: its delivery count, a dot, a new id (`3.V1StGXR8…`). A
 * take-over compares them (`staleTakeover` in machine/steps.ts): a delivery never takes a step
 * over from a later delivery of the same job (a claim sent before its lock lapsed, answered
 * after another worker got the job again).
 *
 * @example
 * ```ts
 * const cmd = { type: 'claimStep', step, attempt, jobId: job.id, lease: leaseFor(job) }
 * ```
 */
export function leaseFor(job: { deliveries: number }): string {
  return `${Number.isSafeInteger(job.deliveries) && job.deliveries >= 0 ? job.deliveries : 0}.${newId()}`
}
