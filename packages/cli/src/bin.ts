#!/usr/bin/env node
import { runCli } from './runCli.js'

/** Settles once what `stream` holds reached the OS (a pipe is written asynchronously), or it failed (a closed pipe). */
function flushed(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((done) => {
    if (stream.writableLength === 0 || stream.destroyed) return done()
    stream.write('', () => done())
  })
}

// exit once stdout and stderr are out (a piped `show --json` was cut at 64 KiB), and no later: a
// store connection still closing (Redis unreachable) must not keep the process alive, nor a
// reader that never reads
void runCli(process.argv.slice(2)).then(async (code) => {
  const late = setTimeout(() => process.exit(code), 30_000)
  await Promise.all([flushed(process.stdout), flushed(process.stderr)])
  clearTimeout(late)
  process.exit(code)
})
