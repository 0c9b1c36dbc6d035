#!/usr/bin/env node
import { runCli } from './runCli.js'

/** How long the output may make no progress into its reader before the CLI gives up on it, ms. */
const STALLED_MS = 30_000

/** Settles once what `stream` holds reached the OS (a pipe is written asynchronously), or it failed (a closed pipe). */
function flushed(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((done) => {
    if (stream.writableLength === 0 || stream.destroyed) return done()
    stream.write('', () => done())
  })
}

// exit once stdout and stderr are out (a piped `show --json` was cut at 64 KiB), and no later: a
// store connection still closing (Redis unreachable) must not keep the process alive. A reader
// that takes the output slowly gets all of it; one that takes nothing for 30 s, or an interrupt,
// ends the CLI with output left unsent, which is no success (1, or 130 on an interrupt)
void runCli(process.argv.slice(2)).then(async (code) => {
  const pending = () => process.stdout.writableLength + process.stderr.writableLength
  const interrupted = () => process.exit(130)
  process.once('SIGINT', interrupted)
  process.once('SIGTERM', interrupted)
  let left = pending()
  const watch = setInterval(() => {
    const now = pending()
    if (now > 0 && now === left) process.exit(code === 0 ? 1 : code)
    left = now
  }, STALLED_MS)
  await Promise.all([flushed(process.stdout), flushed(process.stderr)])
  clearInterval(watch)
  process.exit(code)
})
