import { describe, expect, it } from 'vitest'
import { beginOutputs, newRun } from './index.js'
import type { RunDoc } from './runDoc.js'

// A rerun's begin job (its start died between writing the run and carrying out its outputs):
// what it carries out, from the stored document alone.

const FLOW = { name: 'f', steps: { a: {}, b: { needs: ['a'] }, c: { needs: ['b'] }, d: {} } }
const rerun = () => newRun(FLOW, 'r', {}, 1000, 0, { rerun: { of: 'old', from: 'b', copies: { a: { result: { x: 1 } }, d: {} } } }).doc

describe('beginOutputs', () => {
  it("a running rerun: its copies' step.completed in one wave, then its ready steps' jobs", () => {
    const out = beginOutputs('r', rerun())
    expect(out.appends.map((w) => w.map((a) => [a.kind, a.step, a.key, a.data]))).toEqual([
      [
        ['step.completed', 'a', 'sc~a', { result: { x: 1 }, duration: 0, copied: true }],
        ['step.completed', 'd', 'sc~d', { duration: 0, copied: true }],
      ],
    ])
    expect(out.jobs).toEqual([{ op: 'add', name: 'step', id: 's~r~b~1', data: { runId: 'r', step: 'b', attempt: 1 } }])
  })

  it('a run queued by flow control: its copies, its first flow.queued (keyed: once), then its admit job, by the id the document holds', () => {
    const doc: RunDoc = { ...rerun(), status: 'queued', queued: { reason: 'concurrency', n: 1, key: 't-1', job: 'q~r~1000' } }
    const out = beginOutputs('r', doc)
    expect(out.appends.map((w) => w.map((a) => a.key))).toEqual([['sc~a', 'sc~d'], ['fq~1']])
    expect(out.appends[1]?.[0]).toEqual({ kind: 'flow.queued', data: { reason: 'concurrency', key: 't-1' }, key: 'fq~1' })
    expect(out.jobs).toEqual([{ op: 'add', name: 'admit', id: 'q~r~1000', data: { runId: 'r', step: '', flow: 'f' } }])
    // a plain start (no copies) queued: its flow.queued alone; a later decision logged its own (#2): none again
    const plain = newRun(FLOW, 'p', {}, 1000, 0, {}).doc
    expect(beginOutputs('p', { ...plain, status: 'queued', queued: { reason: 'rateLimit', n: 1 } }).appends).toEqual([
      [{ kind: 'flow.queued', data: { reason: 'rateLimit' }, key: 'fq~1' }],
    ])
    expect(beginOutputs('p', { ...plain, status: 'queued', queued: { reason: 'rateLimit', n: 2 } }).appends).toEqual([])
  })

  it('no run (its start died before writing it) or an ended one: nothing', () => {
    const none = { appends: [], jobs: [], unwatch: [] }
    expect(beginOutputs('r', null)).toEqual(none)
    expect(beginOutputs('r', { ...rerun(), status: 'completed' })).toEqual(none)
    expect(beginOutputs('r', { ...rerun(), status: 'canceled' })).toEqual(none)
  })
})
