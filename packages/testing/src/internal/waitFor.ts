/**
 * Polls `check` every 10 ms until it returns true; `check` may be sync or async. Rejects after
 * `timeoutMs` with an error naming `what` (write it as the thing awaited: 'the run to complete').
 *
 * @example await waitFor(async () => (await store.read(runId)).length === 3, 'three events')
 * @default timeoutMs 10_000
 */
export async function waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}
