import type { EventRecord } from '@leanflow/core'
import { useState } from 'preact/hooks'
import { json } from './format.js'

const FIRST = 200

/** The run's raw events (the log as stored), the newest last; the first 200 until asked for all. */
export function RawEvents({ events }: { events: readonly EventRecord[] }) {
  const [all, setAll] = useState(false)
  const shown = all ? events : events.slice(-FIRST)
  return (
    <section aria-labelledby="events-h">
      <h2 id="events-h">Events ({events.length})</h2>
      {events.length > shown.length && (
        <button type="button" onClick={() => setAll(true)}>
          Show all {events.length} (the last {FIRST} shown)
        </button>
      )}
      <table class="events" data-testid="events">
        <thead>
          <tr>
            <th scope="col">id</th>
            <th scope="col">kind</th>
            <th scope="col">step</th>
            <th scope="col">data</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((e) => (
            <tr key={e.id} data-kind={e.kind}>
              <td class="mono">{e.id}</td>
              <td class="mono">{e.kind}</td>
              <td class="mono">
                {e.step ?? ''}
                {e.meta?.attempt ? ` #${e.meta.attempt}` : ''}
              </td>
              <td>
                <code class="data">{json(e.data).replace(/\s+/g, ' ').slice(0, 300)}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  )
}
