#!/usr/bin/env node
// `pnpm demo [--once] [--worker]`: the order-approval demo (in memory; REDIS_URL switches to Redis).
// Runs the TypeScript sources directly with tsx (workspace packages resolve to src/ via tsconfig paths).
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const demo = existsSync(`${root}/examples/order-approval/main.ts`) ? 'examples/order-approval/main.ts' : 'examples/quickstart/main.ts'
const r = spawnSync(process.execPath, ['--import', 'tsx', demo, ...process.argv.slice(2)], { stdio: 'inherit', cwd: root })
process.exit(r.status ?? 1)
