import { useEffect, useState } from 'preact/hooks'
import { api, type LimitRow } from './api.js'

/** A flow's limits in use (`GET /:flow/limits`), when the API has them; nothing otherwise. */
export function LimitsTable({ flow }: { flow: string }) {
  const [limits, setLimits] = useState<LimitRow[] | undefined>()
  useEffect(() => {
    let alive = true
    const load = () =>
      api.limits(flow).then(
        (l) => alive && setLimits(l),
        () => alive && setLimits(undefined),
      )
    load()
    const t = setInterval(load, 3000)
    return () => {
      alive = false
      clearInterval(t)
    }
  }, [flow])
  if (!limits) return null
  return (
    <section aria-labelledby="limits-h" data-testid="limits">
      <h2 id="limits-h">Limits</h2>
      {limits.length === 0 ? (
        <p>No limit of this flow is in use now.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">scope</th>
              <th scope="col">kind</th>
              <th scope="col">key</th>
              <th scope="col">active</th>
              <th scope="col">queued</th>
            </tr>
          </thead>
          <tbody>
            {limits.map((l) => (
              <tr key={`${l.scope}/${l.kind}/${l.key}`} data-testid="limit-row" data-key={l.key}>
                <td>{l.scope}</td>
                <td>{l.kind}</td>
                <td class="mono">{l.key || '—'}</td>
                <td class="num">{l.active}</td>
                <td class="num">{l.queued}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  )
}
