#!/usr/bin/env node
// Renders the dashboard's screenshots in docs/images (dashboard-flows.png, dashboard-runs.png,
// dashboard-run.png, dashboard-dark.png) from the order-approval demo in memory; needs /usr/bin/chromium, no build.
// Re-run by hand: node scripts/dashboard-screenshots.mjs
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const r = spawnSync(process.execPath, ['--import', 'tsx', 'examples/order-approval/dashboardScreenshots.ts'], {
  stdio: 'inherit',
  cwd: root,
})
process.exit(r.status ?? 1)
