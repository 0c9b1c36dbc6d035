import { join } from 'node:path'
import ts from 'typescript'

/**
 * The repo's tsconfig.json as the TypeScript API reads it (its `@leanflow/*` paths to the
 * sources), with `noEmit`; throws when it cannot be read.
 *
 * @example
 * ```ts
 * const program = ts.createProgram(files, repoConfig(root).options)
 * ```
 */
export function repoConfig(root: string): ts.ParsedCommandLine {
  const config = ts.getParsedCommandLineOfConfigFile(
    join(root, 'tsconfig.json'),
    { noEmit: true },
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'))
      },
    },
  )
  if (!config) throw new Error('cannot read tsconfig.json')
  return config
}
