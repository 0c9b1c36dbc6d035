// What the browser path costs: the BUILT packages (dist/, as packed) bundled the way an app's
// bundler does (esbuild, minified, resolving @leanflow/* through their package.json `exports` and
// `sideEffects: false`), gzipped. A budget exceeded fails the test; the figures are printed.
// Also: the reducer, parseEvent and compareEventIds carry nothing of the bus, the stores or the
// errors they do not use, and core's module has no top-level code a bundler must keep (checked
// without the help of `sideEffects: false`). Runs in a second or two.
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { gzipSync } from 'node:zlib'
import { build } from 'esbuild'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { assertBuilt } from './project.js'

const root = resolve(import.meta.dirname, '../..')

/**
 * Gzipped budgets in bytes. Issue 19 aims at 3 KB for the reducer and 5 KB for watchRun with it.
 * The reducer's budget is that target; the others hold what was reached and fail on any growth
 * past a few dozen bytes. History: 5 KB
 * and 5.8 KB with the bus inside; 3,823 and 5,723 without it; then flow control (issue 14),
 * composition (15), versions and reruns (17) added 718 B and 647 B, up to 4,552 and 6,370.
 * Issue 19 cut them to 3,901 and 5,708 (esbuild --minify, gzip): one transition shared by
 * reduceFlow and applyEvent (internal/foldEvent.ts) instead of two, logs and state as one kind
 * of persistent chain instead of two, step keys, awaits and a state-from-JSON's fields read from
 * tables, a regex isEventId, fewer Sets. A second pass cut the reducer to 3,611 (watchRun with
 * it 4,691), the output the same on every test and, old dist against new, on generated logs with
 * garbage data, states from JSON and spread copies, branches and `until` values (key order,
 * descriptors and shared steps included): the chains are nodes of one operation each, read on
 * first read (internal/chain.ts) instead of a base plus a shared buffer and reduceFlow's own
 * builder mode; one table of run-field readers serves a state from JSON, a new run and
 * flow.started; one branch for the await kinds (the resume kinds are entries with nothing to
 * record); a table of a step's keys and the status each lasts in; event data read once per
 * event; applyEvent without its own empty-state recursion and own-state check.
 * Measured and not kept, for speed: Object.assign(this, run) in FlowState's constructor
 * (−107 B, but ~100 ns more per state: the applyEvent fold ~15% slower); always sorting
 * (−43 B, reduceFlow ~40% slower); log entries built with spreads (−13 B, 8× slower each).
 * esbuild mangleProps on the chains' and parts' fields would save ~12–25 B: not worth a build
 * step. What is left, measured by leaving each top-level piece out (gzip bytes): the step
 * transitions ~440 (every step.* kind, awaits by position, the retry time), the run transitions
 * ~300 (started with schedule, parent, version, rerunOf; queued, debounced, children; the three
 * ends), the steps a run names, declares and cancels ~275, the state object with its sixteen run
 * fields, lazy logs and state and its brand ~275, the tables (log levels, live statuses, await
 * kinds, step keys) ~175, the shared transition ~175, reduceFlow with `until` and its error
 * ~210, ordering and dedupe ~130, a state from JSON and the run readers ~195, the chains ~180,
 * event ids ~180, toText ~90, log entries ~85, clean ~70, settleStatus ~60, the other readers
 * ~150. An `until` that is no event id throws a branded INVALID_ARGUMENT error that does not
 * pull LeanflowError's table of codes in (that would be +440 B). watchRun adds ~1 KB: its own
 * reconnect, reset and refusal handling (~800) and a check of each frame's envelope. It used to
 * run each frame through parseEvent (+~450 B of field-by-field messages) and so bring the
 * InvalidEventError class with LeanflowError's table of codes and statuses (+~420 B): 5,705 B.
 * A leanflow server sends only events its store validated and applyEvent is total, so watchRun
 * checks the fields it reads and reports a bad frame as a branded INVALID_EVENT error: 4,946 B,
 * the 5 KB target met. Ending a watch begun at the end of a run that had ended (the stream's 204:
 * onEnd with the run's terminal event, read once from `…/events`, instead of an error) added
 * ~185 B: 4,904 B.
 * A third pass met the 3 KB target (3 × 1,024 B): 3,608 → 3,066 B, watchRun with it 4,370, parseEvent
 * and compareEventIds 1,227, each cut measured with gzip (a cut gzip made larger was undone), the
 * output checked against the old dist on 2,000+ generated logs with garbage (the same but for the
 * chosen changes below): compareEventIds pads each digit run to 20 digits when the two ids differ
 * in shape (−78); FlowState's constructor copies the run with Object.assign (−102); reduceFlow sorts
 * always (a sorted array sorts in one pass) and skips duplicates as applyEvent does (−46); a step
 * keeps completedAt, duration, result and nextRetryAt by its status (the step keys' table) instead
 * of each transition clearing them (−25); an ended run cancels every live step, unknown statuses
 * included (−38 with the step.* check's and the cancel's other copy gone); the await kinds by one
 * regex and one list of copied fields (−20); a state from elsewhere keeps its run fields as they
 * are (−14, as its steps always did); rerunOf read like schedule and parent (−20); smaller: toText,
 * fieldsOf as Object, the argument error's brand, a null-prototype copy helper. The reducer's bench
 * (bench/reduce.ts, alternating with the old dist, 3 runs, load ~5): reduceFlow 0.26–0.31 of
 * JSON.parse (was 0.22–0.26), the applyEvent fold 0.46–0.49 (was 0.42–0.45); targets 0.5 and 1.
 * Measured and not kept: clearing a run's `queued` in its transitions instead of the constructor
 * (−8 B, the fold ~1.6× slower); Object.defineProperties for state and logs (−12 B, ~3× slower);
 * nextStep on every event, without the step.* check (−20 B, ~2× slower).
 * A watch begun at the end of a run whose log goes on after its terminal event (a step that
 * completed after a cancel) reads `…/events` backward page by page until it meets that event,
 * not the last 8 events only: +52 B, watchRun 4,422 B, its budget 4,400 → 4,450. Measured and not
 * kept: one page of the 1,000 events up to the position (+48 B, finds the end only within them);
 * pages of 1,000 from the first (−1 B, 1,000 events read where 8 do).
 * That read carries the stream URL's other query parameters (a stream token `authorize` checks),
 * set with URLSearchParams so none is sent twice: +23 B, watchRun 4,445 B; and a query holding a
 * second `?` (`?token=a?b`) is split at its first one only, for that read and for a reset's
 * reconnect (+6 B): 4,451 B, its budget 4,450 → 4,460.
 * A refused stream's error code and message are asked with fetch also when the eventsource
 * package gave the status (one branch less): 4,446 B.
 * watchRun without an EventSource throws a branded INVALID_ARGUMENT error (isLeanflowError, as every
 * leanflow error) instead of a plain TypeError, made by the same helper as a bad frame's: 4,466 B,
 * its budget 4,460 → 4,480 (the 5 KB target stands).
 * onConnection ('open' / 'retrying': a page can say a stream retrying on its own is not live):
 * 4,501 B, its budget 4,480 → 4,520.
 * A `fetch` option for watchRun's own requests (a refused stream's code on a server that wants a
 * token), and refusing one that is no function: 4,557 B, its budget 4,520 → 4,580 (the 5 KB target stands).
 * A stream that fails while fetch gets 2xx (a proxy's passing 502, which a browser's EventSource
 * does not tell) is followed again a few times from the last event, and its refusal says why:
 * 4,694 B, its budget 4,580 → 4,720 (the 5 KB target stands).
 * A url that cannot be resolved (a path in Node) refused, naming it and an absolute one, instead of
 * the EventSource's bare SyntaxError: 4,849 B, its budget 4,720 → 4,860 (the 5 KB target stands).
 */
const BUDGET = {
  'reduceFlow + applyEvent': 3 * 1024,
  'watchRun + reduceFlow': 4_860,
  'parseEvent + compareEventIds': 1_250,
} as const

/** Bundles `code` (an app's entry module) as an app would; the minified output. */
async function bundle(code: string, resolveDir = root): Promise<string> {
  const out = await build({
    stdin: { contents: code, resolveDir, loader: 'js' },
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
    // resolve as an app does: no tsconfig `paths` (the root's point @leanflow/* at src/)
    tsconfigRaw: '{}',
  })
  return out.outputFiles[0]?.text ?? ''
}

const gzipped = (text: string) => gzipSync(text).length
const sizes: Record<string, number> = {}
let work: string

beforeAll(() => {
  assertBuilt(root)
  work = mkdtempSync(join(tmpdir(), 'leanflow-size-'))
})

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true })
  console.log(`gzipped bundle sizes (bytes): ${JSON.stringify(sizes)}`)
})

describe('browser bundles of the built packages', () => {
  it.each([
    ['reduceFlow + applyEvent', `import { reduceFlow, applyEvent } from '@leanflow/core'\nglobalThis.x = [reduceFlow, applyEvent]`],
    [
      'watchRun + reduceFlow',
      `import { watchRun } from '@leanflow/http/client'\nimport { reduceFlow } from '@leanflow/core'\nglobalThis.x = [watchRun, reduceFlow]`,
    ],
    [
      'parseEvent + compareEventIds',
      `import { parseEvent, compareEventIds } from '@leanflow/core'\nglobalThis.x = [parseEvent, compareEventIds]`,
    ],
  ] as const)('%s stays within its gzipped budget and carries no bus or store', async (name, code) => {
    const js = await bundle(code)
    sizes[name] = gzipped(js)
    // the bus's report text, the memory store's and the stores' defaults: none of them is needed
    expect(js).not.toMatch(/bus listener failed|listenerCount|eventemitter|readLimit|createMemoryStreamStore/)
    expect(sizes[name], `${name}: ${sizes[name]} B gzipped, budget ${BUDGET[name]} B`).toBeLessThanOrEqual(BUDGET[name])
  })

  it("the dashboard's whole page (its built script and stylesheet, as dist/ serves them) is at most 80 KB gzipped", async () => {
    const { createDashboard } = (await import(join(root, 'packages/dashboard/dist/index.js'))) as typeof import('@leanflow/dashboard')
    const dashboard = createDashboard()
    const body = async (path: string) => (await dashboard(new Request(`http://app.test/dashboard${path}`))).text()
    const [html, js, css] = await Promise.all([body('/'), body('/app.js'), body('/app.css')])
    sizes['dashboard page (html + js + css)'] = gzipped(html) + gzipped(js) + gzipped(css)
    // issue 18's budget for the whole app: Preact, dagre, core's reducer and http's watchRun included
    expect(sizes['dashboard page (html + js + css)']).toBeLessThanOrEqual(80 * 1024)
    expect(js).toContain('leanflow-dashboard-config')
  })

  it('core has no top-level code a bundler must keep, even ignoring sideEffects: false', async () => {
    // a copy outside the package: its package.json (and the flag) no longer applies
    copyFileSync(join(root, 'packages/core/dist/index.js'), join(work, 'core.js'))
    expect(await bundle(`import './core.js'`, work)).toBe('')
  })
})
