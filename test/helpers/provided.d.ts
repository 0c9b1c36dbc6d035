// Values vitest.config.ts hands to tests through `provide` (read with `inject`).
import 'vitest'

declare module 'vitest' {
  export interface ProvidedContext {
    /** The ioredis major this vitest project resolves `ioredis` (and BullMQ's ioredis) to: 5 (`integration`) or 6 (`ioredis6`). */
    ioredisMajor: 5 | 6
  }
}
