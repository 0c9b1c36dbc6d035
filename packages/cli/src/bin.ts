#!/usr/bin/env node
import { runCli } from './runCli.js'

// exit at once: a store connection still closing (Redis unreachable) must not keep the process alive
void runCli(process.argv.slice(2)).then((code) => process.exit(code))
