// `pnpm demo --once` (what CI runs): one order end to end, headless, in memory, exit 0.
import { spawn } from 'node:child_process'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

const root = resolve(import.meta.dirname, '../..')

function runDemo(args: string[], env: Record<string, string | undefined> = {}) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((done) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'examples/order-approval/main.ts', ...args], {
      cwd: root,
      env: { ...process.env, ...env },
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (b) => (stdout += b))
    child.stderr.on('data', (b) => (stderr += b))
    child.on('close', (code) => done({ code, stdout, stderr }))
  })
}

describe('demo --once', () => {
  it('runs one order to completion in memory and prints the reduced state (REDIS_URL, here a port no server listens on, is not used)', async () => {
    const r = await runDemo(['--once'], { REDIS_URL: 'redis://127.0.0.1:1' })
    expect(r.stderr).not.toMatch(/Error/)
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^\[once\] runs in memory: REDIS_URL is for `pnpm demo`/m)
    const json = r.stdout.slice(r.stdout.indexOf('\n{') + 1, r.stdout.lastIndexOf('\n}') + 2)
    const state = JSON.parse(json)
    expect(state.status).toBe('completed')
    expect(Object.keys(state.steps)).toEqual(['validate', 'bill', 'charge', 'payment', 'reserve-stock', 'notify', 'approval', 'ship'])
    for (const step of Object.values<{ status: string }>(state.steps)) expect(step.status).toBe('completed')
    // charge failed twice and succeeded on its third attempt
    expect(state.steps.charge.attempt).toBe(3)
    expect(r.stdout.match(/step\.failed \[charge\]/g)).toHaveLength(2)
    // the event and the trigger were resolved through the runner API
    expect(r.stdout).toMatch(/published payment\.confirmed/)
    expect(r.stdout).toMatch(/resolved trigger [A-Za-z0-9]{21}/)
    expect(state.result.ship.tracking).toBe('trk_o-once-1')
    // bill invoked one invoice run per order line, and summed their results
    expect(state.children).toBe(2)
    expect(r.stdout.match(/step\.await\.run \[bill\]: invoice run [A-Za-z0-9]{21}/g)).toHaveLength(2)
    expect(state.steps.bill.result).toEqual({ invoices: 2, total: 42.5 })
    expect(state.state.invoiced).toEqual({
      total: 42.5,
      lines: [
        { sku: 'notebook', qty: 2, amount: 25 },
        { sku: 'pen', qty: 5, amount: 17.5 },
      ],
    })
    expect(state.state).toMatchObject({ paid: true, tracking: 'trk_o-once-1', charge: { chargeId: 'ch_o-once-1', attempts: 3 } })
  })

  it('--worker without REDIS_URL says what to set and exits non-zero', async () => {
    const r = await runDemo(['--worker'], { REDIS_URL: '' })
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/REDIS_URL=redis:\/\//)
  })
})
