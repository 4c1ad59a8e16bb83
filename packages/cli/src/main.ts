/**
 * @module main
 * The `aikit` command line: argument parsing, output and exit codes, apart from `bin.ts` so tests
 * can run it in process too.
 */
import { parseArgs } from 'node:util'
import { formatReport } from './format.js'
import { InputError, loadInput } from './load-input.js'
import { runDoctor, runDoctorOnline } from './run-doctor.js'

export const USAGE = `Usage: aikit doctor [--env-file <path>] [--config <path>] [--json] [--offline]

Prints the pre-launch checklist of an AI Kit app (PASS / WARN / FAIL with a fix for each item).

  --env-file <path>  also read variables from this file (the environment wins, as with node --env-file)
  --config <path>    the kit configuration module (default: ./aikit.config.mjs or .js if present)
  --json             print { ok, items } as JSON
  --offline          connect to nothing (no redis-server item: REDIS_URL is not contacted)
  -h, --help         this text

Exit codes: 0 no item fails, 1 an item fails, 2 bad usage or unreadable input.
`

export interface MainIo {
  cwd: string
  env: Readonly<Record<string, string | undefined>>
  stdout: (text: string) => void
  stderr: (text: string) => void
}

/** Runs the CLI with `argv` (without `node` and the script); resolves to the exit code. */
export async function main(argv: readonly string[], io: MainIo): Promise<number> {
  let parsed: ReturnType<typeof parse>
  try {
    parsed = parse(argv)
  } catch (error) {
    io.stderr(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`)
    return 2
  }
  const { values, positionals } = parsed
  if (values.help === true) {
    io.stdout(USAGE)
    return 0
  }
  if (positionals.length !== 1 || positionals[0] !== 'doctor') {
    io.stderr(USAGE)
    return 2
  }
  try {
    const input = await loadInput({
      cwd: io.cwd,
      env: io.env,
      envFile: values['env-file'],
      config: values.config,
    })
    const doctorInput = { env: input.env ?? {}, config: input.config }
    const result =
      values.offline === true
        ? runDoctor(doctorInput)
        : await runDoctorOnline(doctorInput, { cwd: io.cwd })
    io.stdout(values.json === true ? `${JSON.stringify(result, null, 2)}\n` : formatReport(result))
    return result.ok ? 0 : 1
  } catch (error) {
    if (!(error instanceof InputError)) throw error
    io.stderr(`aikit doctor: ${error.message}\n`)
    return 2
  }
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      'env-file': { type: 'string' },
      config: { type: 'string' },
      json: { type: 'boolean' },
      offline: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  })
}
