import { useState } from 'preact/hooks'
import { ApiError, api, messageOf } from './api.js'
import { hrefRun } from './route.js'

const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/

/** Search by run id: opens the run when the API knows it (`GET /runs/:runId`), says so otherwise. */
export function RunSearch() {
  const [id, setId] = useState('')
  const [error, setError] = useState('')
  const submit = async (e: Event) => {
    e.preventDefault()
    const runId = id.trim()
    setError('')
    if (!RUN_ID.test(runId)) return setError(`"${runId}" is no run id: ids are letters, digits, "_", "." and "-".`)
    try {
      await api.run(runId)
      setId('')
      location.hash = hrefRun(runId)
    } catch (err) {
      setError(err instanceof ApiError && err.status === 404 ? `No run ${runId}.` : messageOf(err))
    }
  }
  return (
    <form class="search" aria-label="open a run by id" onSubmit={submit}>
      <label>
        <span class="sr-only">Run id</span>
        <input
          data-testid="run-search"
          placeholder="Go to run id…"
          value={id}
          onInput={(e) => setId((e.target as HTMLInputElement).value)}
          aria-describedby="run-search-error"
        />
      </label>
      <button type="submit">Open</button>
      <span id="run-search-error" class="error" role="status" data-testid="run-search-error">
        {error}
      </span>
    </form>
  )
}
