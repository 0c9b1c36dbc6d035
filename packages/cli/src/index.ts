export { EXIT_CODES } from './exitCodes.js'
export type { ExitCode } from './exitCodes.js'
