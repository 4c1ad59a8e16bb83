/**
 * @module load-input
 * Reads what the CLI checks: `process.env`, an optional env file, an optional config module.
 */
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { parseEnv } from 'node:util'
import { redact } from '@aikit/security'
import type { DoctorInput } from './types.js'

/** Config files looked for in the working directory when `--config` is not given. */
export const DEFAULT_CONFIG_FILES = ['aikit.config.mjs', 'aikit.config.js'] as const

/** A problem reading the input: the CLI prints it and exits 2 (no checklist was produced). */
export class InputError extends Error {
  override readonly name = 'InputError'
}

export interface LoadOptions {
  cwd: string
  env: Readonly<Record<string, string | undefined>>
  envFile?: string | undefined
  config?: string | undefined
}

/**
 * An env file's variables, parsed by `util.parseEnv` with the names read as dotenv reads them:
 * Node 20's parser keeps a leading UTF-8 BOM (Windows editors), tabs and `export` followed by a
 * tab or a second space in the name (`export\tNODE_ENV`), so the variable would go unseen. Only
 * names are normalised: values, multi-line quoted ones included, are the parser's. A variable
 * written twice takes its last line's value, as with dotenv and `node --env-file`.
 */
export function parseEnvFile(text: string): Record<string, string> {
  // The names are cleaned in the text, not after parsing: `parseEnv` orders its result by raw
  // name, so `export\tNODE_ENV=development` would come after, and win over, a later
  // `NODE_ENV=production`.
  const parsed = parseEnv(cleanNames(text))
  const vars: Record<string, string> = {}
  for (const [rawName, value] of Object.entries(parsed)) {
    // What `cleanNames` left (a name it does not recognise): trim() also removes tabs.
    const name = rawName.trim().replace(/^export\s+/, '')
    if (name !== '' && value !== undefined) vars[name] = value
  }
  return vars
}

/** An assignment line's start: blanks and `export` + blanks before the name, blanks before `=`. */
const ASSIGNMENT = /^[ \t]*(?:export[ \t]+)?([A-Za-z_][\w.-]*)[ \t]*=/

/**
 * `text` with its BOM dropped and each assignment line's name written `NAME=`. The lines inside a
 * multi-line quoted value are left as they are: like `parseEnv`, a value opening with a quote
 * runs to the next such quote anywhere further on, if there is one.
 */
function cleanNames(text: string): string {
  const source = text.replace(/^\uFEFF/, '')
  const lines = source.split('\n')
  let offset = 0
  let closing: string | undefined
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string
    offset += line.length + 1
    if (closing !== undefined) {
      if (line.includes(closing)) closing = undefined
      continue
    }
    if (line.startsWith('#')) continue
    const match = ASSIGNMENT.exec(line)
    if (match !== null) lines[i] = `${match[1]}=${line.slice(match[0].length)}`
    const equal = line.indexOf('=')
    if (equal === -1) continue
    const value = line.slice(equal + 1).trimStart()
    const quote = value[0]
    if (
      (quote === '"' || quote === "'" || quote === '`') &&
      !value.includes(quote, 1) &&
      source.includes(quote, offset)
    ) {
      closing = quote
    }
  }
  return lines.join('\n')
}

/** Variable names whose values are secrets or may hold one (a URL's password). */
const SECRET_NAME = /KEY|TOKEN|SECRET|PASS|PWD|AUTH|CREDENTIAL|DSN|URL|COOKIE|PRIVATE|SIGN/i

/**
 * A config module's error message, fit to print: a config that checks its environment quotes
 * what it refuses (`refusing non-TLS Redis redis://:password@host`), and `JSON.parse` quotes the
 * start of what it could not parse (a key read from a variable). Every value of a secret-named
 * variable (8 characters or more) is censored, then what the redactor finds (URL passwords, keys,
 * tokens).
 */
function scrub(message: string, env: Readonly<Record<string, string | undefined>>): string {
  let out = message
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || value.length < 8 || !SECRET_NAME.test(name)) continue
    out = out.replaceAll(value, '[redacted]')
    // A quoted prefix (`"sk-ant-api"...`): the first 10 characters of a longer value.
    if (value.length > 10) out = out.replaceAll(`"${value.slice(0, 10)}"`, '"[redacted]"')
  }
  const redacted = redact(out)
  return typeof redacted === 'string' ? redacted : out
}

/**
 * Builds the doctor's input. Variables already in the environment win over the env file, as
 * with `node --env-file`. The env file's variables not already in `process.env` are set there
 * before the config module is imported, as they are when the app starts with the same file (a
 * config may read `process.env.LOG_LEVEL`). The config module's default export (or its `config`
 * export) is the configuration.
 */
export async function loadInput(
  options: LoadOptions
): Promise<DoctorInput & { configPath?: string }> {
  let env: Record<string, string | undefined> = { ...options.env }
  if (options.envFile !== undefined) {
    const path = resolve(options.cwd, options.envFile)
    let text: string
    try {
      text = await readFile(path, 'utf8')
    } catch {
      throw new InputError(`cannot read --env-file ${options.envFile}`)
    }
    const fromFile = parseEnvFile(text)
    env = { ...fromFile, ...env }
    for (const name of Object.keys(fromFile)) {
      const value = env[name]
      if (value !== undefined && process.env[name] === undefined) process.env[name] = value
    }
  }

  const configPath =
    options.config !== undefined
      ? resolve(options.cwd, options.config)
      : DEFAULT_CONFIG_FILES.map((f) => resolve(options.cwd, f)).find((p) => existsSync(p))
  if (configPath === undefined) return { env }
  if (!existsSync(configPath)) throw new InputError(`cannot find --config ${options.config}`)
  let mod: { default?: unknown; config?: unknown }
  try {
    mod = (await import(pathToFileURL(configPath).href)) as typeof mod
  } catch (error) {
    const why = error instanceof Error ? `${error.name}: ${scrub(error.message, env)}` : 'it threw'
    throw new InputError(`cannot load config ${configPath} (${why})`)
  }
  const config = mod.default ?? mod.config
  if (config === undefined) {
    throw new InputError(`config ${configPath} has no default export (or \`config\` export)`)
  }
  return { env, config, configPath }
}
