import { LeanflowError } from '@leanflow/core'

/**
 * The Standard Schema interface (https://standardschema.dev, v1), copied as its spec
 * recommends: zod (≥ 3.24), valibot (≥ 1.0), arktype (≥ 2.0) and others implement it, so
 * `defineFlow({ input })` takes a schema from any of them with no adapter.
 *
 * @example
 * ```ts
 * import { z } from 'zod'
 * const schema: StandardSchemaV1<unknown, { orderId: string }> = z.object({ orderId: z.string() })
 * ```
 */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  readonly '~standard': {
    readonly version: 1
    readonly vendor: string
    readonly validate: (value: unknown) => StandardSchemaResult<Output> | Promise<StandardSchemaResult<Output>>
    readonly types?: { readonly input: Input; readonly output: Output } | undefined
  }
}

/** What a Standard Schema's `validate` answers: the (possibly transformed) value, or issues. */
export type StandardSchemaResult<Output> =
  | { readonly value: Output; readonly issues?: undefined }
  | { readonly issues: ReadonlyArray<StandardSchemaIssue> }

/**
 * One problem a schema found: a message and where (`path`).
 *
 * @example
 * ```ts
 * const issue: StandardSchemaIssue = { message: 'Expected string, received number', path: ['orderId'] }
 * ```
 */
export interface StandardSchemaIssue {
  readonly message: string
  readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined
}

/** A flow input that failed its schema: code `INVALID_ARGUMENT`, with the schema's `issues`. */
export interface InvalidInputError extends LeanflowError {
  readonly issues: ReadonlyArray<{ message: string; path: string }>
}

/** True when `value` looks like a Standard Schema (has `~standard.validate`). */
export function isStandardSchema(value: unknown): value is StandardSchemaV1 {
  const std = (value as { '~standard'?: { validate?: unknown } } | null | undefined)?.['~standard']
  return typeof std === 'object' && std !== null && typeof std.validate === 'function'
}

/**
 * Validates a flow's input with its schema: the schema's output (defaults and transforms
 * applied), or an `INVALID_ARGUMENT` error listing every issue with its path.
 */
export async function validateInput(flow: string, schema: StandardSchemaV1, input: unknown): Promise<unknown> {
  let result = schema['~standard'].validate(input)
  if (result instanceof Promise) result = await result
  if (!result.issues) return result.value
  const issues = result.issues.map((i) => ({ message: String(i.message), path: pathOf(i.path) }))
  const shown = issues.slice(0, 5).map((i) => (i.path === '' ? i.message : `${i.path}: ${i.message}`))
  const more = issues.length > shown.length ? ` (and ${issues.length - shown.length} more)` : ''
  const err = new LeanflowError(
    'INVALID_ARGUMENT',
    `Input of flow "${flow}" does not match its schema: ${shown.join('; ')}${more}. Fix the input; nothing was started.`,
  )
  Object.defineProperty(err, 'issues', { value: issues, enumerable: true })
  throw err
}

function pathOf(path: StandardSchemaIssue['path']): string {
  if (!path) return ''
  return path.map((seg) => String(typeof seg === 'object' && seg !== null ? seg.key : seg)).join('.')
}
