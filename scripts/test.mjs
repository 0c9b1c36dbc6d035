#!/usr/bin/env node
// The whole test suite: build, lint, type-check, every vitest project (the Redis suites run on
// ioredis 5 and again on ioredis 6), the demo once.
// Needs redis-server, PostgreSQL's server (/usr/lib/postgresql/*/bin/initdb, for the example
// store's tests in test/postgres), /usr/bin/chromium for browser tests, openssl and curl for the
// packed packages' test (test/packed, which also needs the npm registry or npm's cache); installs
// them with apt-get when running as root on Debian, else says what to install.
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs'

const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0
const missing = []
if (!has('redis-server')) missing.push('redis-server')
// test/postgres runs the example PostgreSQL store (examples/postgres-store) on a cluster of its own
const pgBase = '/usr/lib/postgresql'
if (!existsSync(pgBase) || !readdirSync(pgBase).some((major) => existsSync(`${pgBase}/${major}/bin/initdb`))) missing.push('postgresql')
if (!existsSync('/usr/bin/chromium')) missing.push('chromium')
// test/packed runs the docs' shell recipe for trigger signatures
for (const tool of ['openssl', 'curl']) if (!has(tool)) missing.push(tool)
if (missing.length) {
  if (process.getuid?.() === 0 && has('apt-get')) {
    console.log(`[test] installing ${missing.join(', ')} with apt-get`)
    execFileSync('apt-get', ['update'], { stdio: 'inherit' })
    execFileSync('apt-get', ['install', '-y', ...missing], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })
  } else {
    console.error(
      `[test] missing: ${missing.join(', ')}. Install them (Debian: sudo apt-get install -y ${missing.join(' ')}) and run again.`,
    )
    process.exit(1)
  }
}

const run = (label, cmd, args) => {
  console.log(`\n[test] ${label}: ${cmd} ${args.join(' ')}`)
  const r = spawnSync(cmd, args, { stdio: 'inherit' })
  if (r.status !== 0) {
    console.error(`[test] FAILED: ${label} (exit ${r.status ?? r.signal})`)
    process.exit(1)
  }
}

run('build', 'pnpm', ['run', 'build'])
run('publint', 'pnpm', ['run', 'publint'])
run('lint', 'pnpm', ['exec', 'biome', 'ci', '--colors=off', '.'])
run('typecheck', 'pnpm', ['run', 'typecheck'])
run('typecheck core (browser-safe)', 'pnpm', ['exec', 'tsc', '-p', 'packages/core/tsconfig.json'])
run('typecheck redis and bullmq on ioredis 6 types', 'pnpm', ['exec', 'tsc', '-p', 'test/ioredis6/tsconfig.json'])
mkdir('.tmp')
const vitest = spawnSync('pnpm', ['exec', 'vitest', 'run', '--reporter=default', '--reporter=json', '--outputFile.json=.tmp/vitest.json'], {
  stdio: 'inherit',
})
let passed = 0
let failed = 0
let skipped = 0
try {
  const report = JSON.parse(readFileSync('.tmp/vitest.json', 'utf8'))
  passed = report.numPassedTests
  failed = report.numFailedTests
  skipped = report.numPendingTests + report.numTodoTests
} catch {
  failed = 1
}
if (existsSync('scripts/demo.mjs')) run('demo --once', 'pnpm', ['run', 'demo', '--once'])
console.log(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped`)
if (vitest.status !== 0 || failed > 0 || passed === 0) process.exit(1)

function mkdir(dir) {
  mkdirSync(dir, { recursive: true })
}
