import { type EventRecord, reduceFlow } from '@leanflow/core'
import { describe, expect, it } from 'vitest'
import { createColors } from './colors.js'
import { formatEvent, summarize } from './formatEvent.js'
import { formatState } from './formatState.js'
import { queueFlags } from './publishHint.js'

const plain = createColors(false)
const at = (n: number) => new Date(Date.UTC(2026, 11, 4, 10, 0, 0, n)).toISOString()
const ev = (n: number, kind: string, data: unknown, step?: string): EventRecord =>
  step === undefined ? { id: `${n}-0`, ts: at(n), kind, flow: 'r1', data } : { id: `${n}-0`, ts: at(n), kind, flow: 'r1', step, data }

describe('flow control events and states', () => {
  it('summarizes flow.queued, flow.debounced and step.queued on one line', () => {
    expect(summarize(ev(1, 'flow.queued', { reason: 'rateLimit', key: 'api-1', until: at(900) }))).toBe(
      `rateLimit  key api-1  until ${at(900)}`,
    )
    expect(summarize(ev(2, 'flow.debounced', { input: { userId: 'u1' }, until: at(950) }))).toBe(`input {"userId":"u1"}  until ${at(950)}`)
    expect(summarize(ev(3, 'step.queued', { reason: 'concurrency' }, 'call'))).toBe('concurrency')
    expect(formatEvent(ev(3, 'step.queued', { reason: 'concurrency', key: 't1' }, 'call'), plain)).toBe(
      '10:00:00.003 step.queued        call         concurrency  key t1',
    )
  })

  it('show names why a queued run and a queued step wait', () => {
    const state = reduceFlow([
      ev(1, 'flow.started', { name: 'sync', input: {}, steps: { call: { needs: [] } } }),
      ev(2, 'flow.queued', { reason: 'debounce', key: 'u1', until: at(5000) }),
      ev(3, 'step.queued', { reason: 'concurrency', key: 'api' }, 'call'),
    ])
    const out = formatState('r1', state, plain, Date.parse(at(10)))
    expect(out).toContain('run       r1  sync  queued')
    expect(out).toContain('queued    debounce (key u1) until 2026-12-04 10:00:05.000')
    expect(out).toMatch(/call\s+queued\s+0\s+-\s+concurrency \(key api\)/)
  })
})

describe('child runs and parallel awaits', () => {
  it('summarizes step.await.run, and show lists every pending await of a step', () => {
    expect(summarize(ev(1, 'step.await.run', { childRunId: 'c1', flow: 'invoice', position: 0 }, 'bill'))).toBe('child c1 (invoice)')
    const state = reduceFlow([
      ev(1, 'flow.started', { name: 'order', input: {}, steps: { bill: { needs: [] } } }),
      ev(2, 'step.started', {}, 'bill'),
      ev(3, 'step.await.run', { childRunId: 'c1', flow: 'invoice', position: 0 }, 'bill'),
      ev(4, 'step.await.event', { eventKind: 'paid', position: 1 }, 'bill'),
    ])
    const out = formatState('r1', state, plain, Date.parse(at(10)))
    expect(out).toContain('child c1 (invoice); event paid')
    expect(out).toContain('leanflow show c1)')
    // under another prefix, the hint carries it (as resolve's and publish's do), quoted for the shell
    const shop = formatState('r1', state, plain, Date.parse(at(10)), new Map(), " --bullmq --prefix 'it'\\''s' --bullmq-queue 'q'")
    expect(shop).toContain("leanflow show c1 --prefix 'it'\\''s')")
    // on a Cluster, with --cluster too (a command without it fails there)
    const onCluster = formatState('r1', state, plain, Date.parse(at(10)), new Map(), queueFlags({ cluster: true, prefix: 'shop' }))
    expect(onCluster).toContain("leanflow show c1 --cluster --prefix 'shop')")
    expect(onCluster).toContain("leanflow publish paid '<json>' --bullmq --cluster --prefix 'shop'")
  })
})

describe('text from the log on a terminal', () => {
  // an error message, a log line or a cancel reason may carry a caller's input: control
  // characters are shown as escapes, never sent to the terminal, and an event stays one line
  // (bidi controls too: `invoice\u202Efdp.exe` would read as `invoiceexe.pdf`)
  const hostile = 'line1\nline2\r\u001b]0;owned\u0007 \u001b[2J\u009b31m\u007f invoice\u202Efdp.exe\u2066\u061c\u2028'
  const shown = 'line1\\nline2\\r\\x1b]0;owned\\x07 \\x1b[2J\\x9b31m\\x7f invoice\\u202Efdp.exe\\u2066\\u061C\\u2028'
  // biome-ignore lint/suspicious/noControlCharactersInRegex: what must not reach the terminal
  const controls = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/
  /** The control characters of `show`'s lines (their own line breaks aside), as char codes. */
  const controlsIn = (out: string) => [...out.replaceAll('\n', '')].filter((ch) => controls.test(ch)).map((ch) => ch.charCodeAt(0))

  it('tail: every event is one line without control characters', () => {
    const events = [
      ev(1, 'step.failed', { error: hostile, willRetry: false }, 'charge'),
      ev(2, 'log', { level: `info${hostile}`, msg: hostile, fields: { note: hostile } }, 'charge'),
      ev(3, 'flow.canceled', { reason: hostile }),
      ev(4, 'order.note', { text: hostile, '\u009b': 1 }),
      ev(5, 'flow.started', { name: 'order', input: { name: hostile }, steps: {} }),
    ]
    for (const e of events) expect(formatEvent(e, plain)).not.toMatch(controls)
    expect(summarize(events[0] as EventRecord)).toBe(`${shown}  (for good)`)
    expect(summarize(events[1] as EventRecord)).toContain(shown)
  })

  it('show: errors, cancel reasons, trigger labels and queue keys stay in their row', () => {
    const state = reduceFlow([
      ev(1, 'flow.started', { name: 'order', input: { name: hostile }, steps: { charge: { needs: [] }, wait: { needs: [] } } }),
      ev(2, 'step.started', {}, 'charge'),
      ev(3, 'step.failed', { error: hostile, willRetry: false }, 'charge'),
      ev(4, 'step.started', {}, 'wait'),
      ev(5, 'step.await.trigger', { triggerId: 'T1', triggerType: hostile }, 'wait'),
      ev(6, 'flow.canceled', { reason: hostile }),
    ])
    const out = formatState('r1', state, plain, Date.parse(at(10)))
    expect(controlsIn(out)).toEqual([])
    expect(out).toMatch(new RegExp(`charge\\s+failed\\s+1\\s+\\S+\\s+${shown.replace(/[\\[\]]/g, '\\$&')}\\n`))
    expect(out).toContain(`reason    ${shown}`)
    expect(out).toContain(`last error ${shown}`)
    const waiting = reduceFlow([
      ev(1, 'flow.started', { name: 'order', input: {}, steps: { wait: { needs: [] } } }),
      ev(2, 'flow.queued', { reason: 'debounce', key: hostile }),
      ev(3, 'step.started', {}, 'wait'),
      ev(4, 'step.await.trigger', { triggerId: 'T1', triggerType: hostile }, 'wait'),
    ])
    const live = formatState('r1', waiting, plain, Date.parse(at(10)))
    expect(controlsIn(live)).toEqual([])
    expect(live).toContain(`trigger T1 (${shown})`)
  })
})

describe('reruns in show', () => {
  it('names the run a rerun reruns (and from which step), and marks the steps it copied from it', () => {
    const state = reduceFlow([
      ev(1, 'flow.started', {
        name: 'shop',
        input: {},
        steps: { pick: { needs: [] }, pay: { needs: ['pick'] } },
        rerunOf: { runId: 'old-run', from: 'pay' },
      }),
      ev(2, 'step.completed', { result: { sku: 'a' }, copied: true }, 'pick'),
      ev(3, 'step.started', {}, 'pay'),
    ])
    const out = formatState('r1', state, plain, Date.parse(at(10)))
    expect(out).toMatch(/rerun of\s+old-run \(from pay\)/)
    expect(out).toMatch(/pick\s+completed.*copied from old-run/)
    expect(out).not.toMatch(/pay\s+running.*copied/)
  })
})

describe('a step its run cut off', () => {
  it("show gives it the time until the run's end, which does not grow after", () => {
    const state = reduceFlow([
      ev(1, 'flow.started', { name: 'approval', input: {}, steps: { ask: { needs: [] } } }),
      ev(2, 'step.started', {}, 'ask'),
      ev(3, 'step.await.trigger', { triggerId: 't1', position: 0 }, 'ask'),
      ev(3002, 'flow.canceled', { reason: 'no' }),
    ])
    for (const now of [Date.parse(at(5000)), Date.parse(at(3_600_000))])
      expect(formatState('r1', state, plain, now)).toMatch(/ask\s+canceled\s+1\s+3\.00s/)
  })
})
