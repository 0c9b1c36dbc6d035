import { type EventRecord, STORE_DEFAULTS, type StreamStore } from '@leanflow/core'

const PAGE = STORE_DEFAULTS.readLimit

/** Every event of run `runId`, in pages of the store's read limit; `[]` for an unknown run. */
export async function readAll(store: StreamStore, runId: string): Promise<EventRecord[]> {
  const all: EventRecord[] = []
  let after: string | undefined
  for (;;) {
    const page = await store.read(runId, { after, limit: PAGE })
    all.push(...page)
    if (page.length < PAGE) return all
    after = page[page.length - 1]?.id
  }
}
