/**
 * @module load-input
 * Reads what the CLI checks: `process.env`, an optional env file, an optional config module.
 */
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { parseEnv } from 'node:util'
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
 * Builds the doctor's input. Variables already in the environment win over the env file, as
 * with `node --env-file`. The config module's default export (or its `config` export) is the
 * configuration.
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
    env = { ...parseEnv(text), ...env }
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
    const why = error instanceof Error ? `${error.name}: ${error.message}` : 'it threw'
    throw new InputError(`cannot load config ${configPath} (${why})`)
  }
  const config = mod.default ?? mod.config
  if (config === undefined) {
    throw new InputError(`config ${configPath} has no default export (or \`config\` export)`)
  }
  return { env, config, configPath }
}
