import type { FlowState } from '@leanflow/core'
import { useState } from 'preact/hooks'
import { api, messageOf, RawJson } from './api.js'
import { ConfirmDialog } from './ConfirmDialog.js'
import { hrefRun } from './route.js'

const ENDED = new Set(['completed', 'failed', 'canceled'])

/** The triggers and event kinds the run's awaiting steps wait for now. */
function awaited(state: FlowState): { triggers: string[]; kinds: string[] } {
  const triggers = new Set<string>()
  const kinds = new Set<string>()
  for (const s of Object.values(state.steps)) {
    if (s.status !== 'awaiting') continue
    for (const a of s.pending ?? (s.awaiting ? [s.awaiting] : [])) {
      if (a.triggerId) triggers.add(a.triggerId)
      if (a.eventKind) kinds.add(a.eventKind)
    }
  }
  return { triggers: [...triggers], kinds: [...kinds] }
}

/**
 * The JSON as typed, checked to be JSON (empty is `null`): sent as it is, since a parse and a
 * stringify would change it (`1e400` becomes `null`, `12345678901234567890` is rounded) where
 * the API refuses or keeps it, as it does for every other client.
 */
function jsonText(text: string, what: string): RawJson {
  if (text.trim() === '') return new RawJson('null')
  try {
    JSON.parse(text)
  } catch (err) {
    throw new Error(`The ${what} is not JSON (${messageOf(err)}): write it as JSON, e.g. {"approved": true}.`)
  }
  return new RawJson(text.trim())
}

/**
 * The run's actions, each a call to the API: cancel (after an in-page confirmation), rerun from a
 * step, resolve a trigger with a JSON payload, publish an event. A refused call shows the API's message.
 */
export function RunActions({ runId, state }: { runId: string; state: FlowState }) {
  const [error, setError] = useState('')
  const [done, setDone] = useState('')
  const [confirming, setConfirming] = useState(false)
  const [from, setFrom] = useState('')
  const { triggers, kinds } = awaited(state)
  const [triggerId, setTriggerId] = useState('')
  const [payload, setPayload] = useState('{}')
  const [kind, setKind] = useState('')
  const [data, setData] = useState('{}')
  const ended = ENDED.has(state.status)
  const run = async (what: string, fn: () => Promise<string | undefined>) => {
    setError('')
    setDone('')
    try {
      const msg = await fn()
      if (msg) setDone(msg)
    } catch (err) {
      setError(`${what}: ${messageOf(err)}`)
    }
  }
  const cancel = () =>
    run('Cancel refused', async () => {
      await api.cancel(runId, 'canceled from the dashboard')
      return 'Cancel requested.'
    })
  const rerun = () =>
    run('Rerun refused', async () => {
      const r = await api.rerun(runId, from || undefined)
      // the flow's singleton or debounce window took it: no new run to open, say which run has it
      if (r.deduplicated === true)
        return r.runId === runId
          ? "No new run: the flow's singleton (or debounce window) took the rerun into this run, which is still active."
          : `No new run: the flow's singleton (or debounce window) took the rerun into run ${r.runId}.`
      location.hash = hrefRun(r.runId)
      return undefined
    })
  const resolve = () =>
    run('Resolve refused', async () => {
      const id = (triggerId || triggers[0] || '').trim()
      if (!id) throw new Error('no trigger id: enter the id of a pending trigger')
      const r = await api.resolveTrigger(id, jsonText(payload, 'payload'))
      return `Trigger resolved: step ${r.step} resumes.`
    })
  const publish = () =>
    run('Publish refused', async () => {
      const k = (kind || kinds[0] || '').trim()
      const r = await api.publish(k, jsonText(data, 'data'))
      return `Event ${k} published (${r.id}).`
    })
  const value = (set: (v: string) => void) => (e: Event) => set((e.target as HTMLInputElement).value)
  return (
    <section aria-labelledby="actions-h" class="actions-panel">
      <h2 id="actions-h">Actions</h2>
      <p class="error" role="alert" data-testid="action-error">
        {error}
      </p>
      <p class="ok" role="status" data-testid="action-result">
        {done}
      </p>
      <div class="action">
        <button type="button" class="danger" data-testid="run-cancel" disabled={ended} onClick={() => setConfirming(true)}>
          Cancel run
        </button>
        {confirming && (
          <ConfirmDialog
            message={`Cancel run ${runId}? Its running and awaiting steps end.`}
            onConfirm={cancel}
            onClose={() => setConfirming(false)}
          />
        )}
      </div>
      <div class="action">
        <label>
          Rerun from{' '}
          <select data-testid="rerun-from" value={from} onChange={value(setFrom)}>
            <option value="">the start (every step)</option>
            {Object.keys(state.steps).map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>{' '}
        <button type="button" data-testid="run-rerun" onClick={rerun}>
          Rerun
        </button>
      </div>
      <div class="action">
        <label>
          Trigger{' '}
          <input
            data-testid="trigger-id"
            class="mono"
            list="pending-triggers"
            placeholder={triggers[0] ?? 'trigger id'}
            value={triggerId}
            onInput={value(setTriggerId)}
          />
        </label>
        <datalist id="pending-triggers">
          {triggers.map((t) => (
            <option key={t} value={t} />
          ))}
        </datalist>
        <label>
          payload (JSON) <textarea data-testid="trigger-payload" rows={2} value={payload} onInput={value(setPayload)} />
        </label>
        <button type="button" data-testid="trigger-resolve" onClick={resolve}>
          Resolve trigger
        </button>
      </div>
      <div class="action">
        <label>
          Event kind{' '}
          <input
            data-testid="event-kind"
            class="mono"
            placeholder={kinds[0] ?? 'payment.confirmed'}
            value={kind}
            onInput={value(setKind)}
          />
        </label>
        <label>
          data (JSON) <textarea data-testid="event-data" rows={2} value={data} onInput={value(setData)} />
        </label>
        <button type="button" data-testid="event-publish" onClick={publish}>
          Publish event
        </button>
      </div>
    </section>
  )
}
