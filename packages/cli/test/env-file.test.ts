/**
 * `--env-file` is read as the app reads it with dotenv or `node --env-file`:
 * - names are read as dotenv reads them: a UTF-8 BOM, leading tabs and `export` followed by any
 *   whitespace (`export\tNODE_ENV=...`) do not hide or rename a variable (a production file whose
 *   NODE_ENV went unseen would be judged with the production-only checks relaxed); values,
 *   multi-line quoted ones included, are `util.parseEnv`'s;
 * - the config module sees the file's variables (those the environment does not set already), as
 *   the app started with the same file does: `logLevel: process.env.LOG_LEVEL ?? 'info'` is judged
 *   with the file's LOG_LEVEL.
 */
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseEnvFile } from '../src/load-input.js'
import { GOOD_CONFIG, GOOD_ENV } from './fixtures.js'

const PKG = resolve(import.meta.dirname, '..')
const BIN = join(PKG, 'dist/bin.js')
let dir: string

/** Runs the built `aikit` bin with exactly `env` as its environment. */
function aikit(
  args: string[],
  env: Record<string, string> = {}
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: dir,
      env: env as NodeJS.ProcessEnv,
      stdio: 'pipe',
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString()
    })
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString()
    })
    child.on('error', reject)
    child.on('close', (code) => done({ code, stdout, stderr }))
  })
}

/** True when a source file changed after the last build. */
function distIsStale(): boolean {
  if (!existsSync(BIN)) return true
  const built = statSync(BIN).mtimeMs
  const sources = readdirSync(join(PKG, 'src'), { recursive: true, encoding: 'utf8' })
  return sources.some((f) => statSync(join(PKG, 'src', f)).mtimeMs > built)
}

// A production app with no rate limit: the rate-limit item FAILs in production (WARN elsewhere).
const { rateLimit: _, ...NO_RATE_LIMIT } = GOOD_CONFIG
const lines = Object.entries(GOOD_ENV).map(([k, v]) => `${k}=${v}`)

beforeAll(() => {
  if (distIsStale()) execFileSync('pnpm', ['--filter', '@aikit/cli', 'build'], { stdio: 'ignore' })
  dir = mkdtempSync(join(tmpdir(), 'aikit-env-file-'))
  writeFileSync(join(dir, 'app.config.mjs'), `export default ${JSON.stringify(NO_RATE_LIMIT)}\n`)
  const { logLevel: _l, ...rest } = GOOD_CONFIG
  // The app's config reads its environment (a common aikit.config.mjs line).
  writeFileSync(
    join(dir, 'env-reading.config.mjs'),
    `export default { ...${JSON.stringify(rest)}, logLevel: process.env.LOG_LEVEL ?? 'info' }\n`
  )
  writeFileSync(
    join(dir, 'debug.env'),
    `${Object.entries({ ...GOOD_ENV, LOG_LEVEL: 'debug' })
      .map(([k, v]) => `${k}=${v}`)
      .join('\n')}\n`
  )
})
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true })
})

const run = (file: string) =>
  aikit(['doctor', '--offline', '--env-file', file, '--config', 'app.config.mjs'])

describe('parseEnvFile: names read as dotenv reads them', () => {
  it('drops a leading UTF-8 BOM', () => {
    expect(parseEnvFile('\uFEFFNODE_ENV=production\r\nPORT=8080\r\n')).toEqual({
      NODE_ENV: 'production',
      PORT: '8080',
    })
  })

  it('drops `export` followed by any whitespace, and leading tabs', () => {
    const text = 'export\tA=1\n  export B=2\nexport  C=3\n\texport D=4\n\tE=5\nF\t=6\nexportG=7\n'
    expect(parseEnvFile(text)).toEqual({
      A: '1',
      B: '2',
      C: '3',
      D: '4',
      E: '5',
      F: '6',
      exportG: '7',
    })
  })

  it('leaves values alone, multi-line quoted ones included', () => {
    const text = 'export\tKEY="line 1\n  export X=2\nline 3"\nQ=\'  export Y=1 \'\nZ=export\t9\n'
    expect(parseEnvFile(text)).toEqual({
      KEY: 'line 1\n  export X=2\nline 3',
      Q: '  export Y=1 ',
      Z: 'export\t9',
    })
  })
})

describe('aikit doctor --env-file (the built bin)', () => {
  it('control: a plain file gives the production FAIL and exit 1', async () => {
    writeFileSync(join(dir, 'plain.env'), `${lines.join('\n')}\n`)
    const r = await run('plain.env')
    expect(r.stdout).toMatch(/^FAIL\s+rate-limit\s/m)
    expect(r.code).toBe(1)
  })

  it('a UTF-8 BOM (Windows editors) does not hide the first variable (NODE_ENV)', async () => {
    writeFileSync(join(dir, 'bom.env'), `\uFEFF${lines.join('\r\n')}\r\n`)
    const r = await run('bom.env')
    expect(r.stdout).toMatch(/^PASS\s+node-env\s/m)
    expect(r.stdout).toMatch(/^FAIL\s+rate-limit\s/m)
    expect(r.code).toBe(1)
  })

  it('`export` followed by a tab, or an indented `export`, still names the variable', async () => {
    const [first, ...rest] = lines
    writeFileSync(
      join(dir, 'export.env'),
      `export\t${first}\n${rest.map((l) => `  export ${l}`).join('\n')}\n`
    )
    const r = await run('export.env')
    expect(r.stdout).toMatch(/^PASS\s+node-env\s/m)
    expect(r.stdout).toMatch(/^FAIL\s+rate-limit\s/m)
    expect(r.code).toBe(1)
  })

  it("the config module sees the file's variables: LOG_LEVEL=debug in production FAILs", async () => {
    const r = await aikit([
      'doctor',
      '--offline',
      '--env-file',
      'debug.env',
      '--config',
      'env-reading.config.mjs',
    ])
    expect(r.stdout).toMatch(/^FAIL\s+log-level\s+config logLevel is 'debug'/m)
    expect(r.code).toBe(1)
  })

  it('the environment still wins over the file for the config module too', async () => {
    const r = await aikit(
      ['doctor', '--offline', '--env-file', 'debug.env', '--config', 'env-reading.config.mjs'],
      { LOG_LEVEL: 'warn' }
    )
    expect(r.stdout).toMatch(/^PASS\s+log-level\s+'warn'/m)
    expect(r.code).toBe(0)
  })
})
