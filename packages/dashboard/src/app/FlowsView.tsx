import { useEffect, useState } from 'preact/hooks'
import { api, type FlowRow, messageOf } from './api.js'
import { RUN_STATUSES } from './format.js'
import { hrefFlow } from './route.js'

/** Every flow the API lists (the store's, and a runner's flows without runs yet), with its run counts per status (`GET /:flow/counts`), read again every 3 s. */
export function FlowsView() {
  const [flows, setFlows] = useState<FlowRow[] | undefined>()
  const [error, setError] = useState('')
  useEffect(() => {
    let alive = true
    const load = () =>
      api.flowsWithCounts().then(
        (f) => {
          if (!alive) return
          setFlows(f)
          setError('')
        },
        (err) => alive && setError(messageOf(err)),
      )
    load()
    const t = setInterval(load, 3000)
    return () => {
      alive = false
      clearInterval(t)
    }
  }, [])
  return (
    <section aria-labelledby="flows-h">
      <h1 id="flows-h">Flows</h1>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {flows?.length === 0 && <p>No flows yet: register one with the API's runner, or start a run, and it shows here.</p>}
      {flows && flows.length > 0 && (
        <table data-testid="flows">
          <thead>
            <tr>
              <th scope="col">flow</th>
              <th scope="col" class="num">
                runs
              </th>
              {RUN_STATUSES.map((s) => (
                <th scope="col" class="num" key={s}>
                  {s}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {flows.map((f) => (
              <tr key={f.flow} data-testid={`flow-${f.flow}`}>
                <th scope="row">
                  <a href={hrefFlow(f.flow)}>{f.flow}</a>
                </th>
                <td class="num" data-count="all">
                  {f.runs}
                </td>
                {RUN_STATUSES.map((s) => (
                  <td class="num" key={s} data-count={s}>
                    {f.statuses ? (f.statuses[s] ?? 0) > 0 ? <a href={hrefFlow(f.flow, s)}>{f.statuses[s]}</a> : '0' : '–'}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  )
}
