export type { CliIO } from './context.js'
export type { ExitCode } from './exitCodes.js'
export { EXIT_CODES } from './exitCodes.js'
export { runCli } from './runCli.js'
