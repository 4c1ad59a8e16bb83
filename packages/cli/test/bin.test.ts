import { execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { type AddressInfo, createServer, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort, type RedisServer, startRedis } from '../../testing/src/redis.js'
import { GOOD_CONFIG, GOOD_ENV, SECRET_VALUES } from './fixtures.js'

const PKG = resolve(import.meta.dirname, '..')
const BIN = join(PKG, 'dist/bin.js')
let dir: string

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs the built `aikit` bin as a user would, with exactly `env` as its environment. */
function aikit(args: string[], env: Record<string, string> = {}, cwd = dir): Promise<Run> {
  return new Promise((done, reject) => {
    // Exactly `env`, nothing inherited. (The cast: Next's types, in the same type-check program as
    // this file in CI, declare NODE_ENV a required variable.)
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd,
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

const envFile = (env: Record<string, string>): string =>
  Object.entries(env)
    .map(([k, v]) => `${k}="${v}"`)
    .join('\n')

const moduleOf = (config: unknown): string => `export default ${JSON.stringify(config)}\n`

/** True when a source file changed after the last build (the DTS build takes seconds). */
function distIsStale(): boolean {
  if (!existsSync(BIN)) return true
  const built = statSync(BIN).mtimeMs
  const sources = readdirSync(join(PKG, 'src'), { recursive: true, encoding: 'utf8' })
  return sources.some((f) => statSync(join(PKG, 'src', f)).mtimeMs > built)
}

beforeAll(() => {
  // The bin imports @aikit/core from its dist, as a user's install would (the root `pnpm test`
  // builds every package first).
  if (distIsStale()) execFileSync('pnpm', ['--filter', '@aikit/cli', 'build'], { stdio: 'ignore' })
  dir = mkdtempSync(join(tmpdir(), 'aikit-doctor-'))
  writeFileSync(join(dir, 'good.env'), envFile(GOOD_ENV))
  writeFileSync(join(dir, 'good.config.mjs'), moduleOf(GOOD_CONFIG))
  writeFileSync(
    join(dir, 'bad.config.mjs'),
    moduleOf({ ...GOOD_CONFIG, cors: { origin: '*', credentials: true } })
  )
})

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true })
})

// Tests spawning the bin more than once: 60 s, as each spawn can take seconds on a loaded runner.
// GOOD_ENV's REDIS_URL names a host on the internet: these runs are `--offline` (no redis-server
// item). The connected check runs against real local servers below and in redis-server.test.ts.
describe('aikit doctor (the built bin, spawned)', () => {
  it('exits 0 and prints the checklist when no item fails', async () => {
    const r = await aikit([
      'doctor',
      '--offline',
      '--env-file',
      'good.env',
      '--config',
      'good.config.mjs',
    ])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^STATUS\s+CHECK\s+FINDING\s+FIX/)
    expect(r.stdout).toMatch(/^PASS\s+cors\s/m)
    expect(r.stdout).toContain('0 FAIL, 0 WARN, 13 PASS')
    for (const secret of SECRET_VALUES) expect(r.stdout + r.stderr).not.toContain(secret)
  })

  it('exits 1 on a failing item and names it, printing no secret value', async () => {
    const leak = 'sk-ant-api03-LEAKEDINBUNDLE0123456789abc'
    const r = await aikit(
      ['doctor', '--offline', '--env-file', 'good.env', '--config', 'bad.config.mjs'],
      {
        NEXT_PUBLIC_ANTHROPIC_API_KEY: leak,
      }
    )
    expect(r.code).toBe(1)
    expect(r.stdout).toMatch(/^FAIL\s+cors\s/m)
    expect(r.stdout).toMatch(/^FAIL\s+public-secrets\s+NEXT_PUBLIC_ANTHROPIC_API_KEY/m)
    for (const secret of [...SECRET_VALUES, leak]) {
      expect(r.stdout + r.stderr).not.toContain(secret)
    }
  })

  it('--json prints { ok, items } with the same verdicts and no secret value', async () => {
    const r = await aikit([
      'doctor',
      '--offline',
      '--json',
      '--env-file',
      'good.env',
      '--config',
      'bad.config.mjs',
    ])
    expect(r.code).toBe(1)
    const report = JSON.parse(r.stdout) as {
      ok: boolean
      items: { id: string; status: string; fix?: string }[]
    }
    expect(report.ok).toBe(false)
    expect(report.items.find((i) => i.id === 'cors')).toMatchObject({ status: 'FAIL' })
    expect(report.items.filter((i) => i.status === 'FAIL').map((i) => i.id)).toEqual(['cors'])
    for (const secret of SECRET_VALUES) expect(r.stdout).not.toContain(secret)
  })

  it('lets the environment win over --env-file, as node --env-file does', async () => {
    writeFileSync(join(dir, 'debug.env'), envFile({ ...GOOD_ENV, LOG_LEVEL: 'debug' }))
    const { logLevel: _, ...noLevel } = GOOD_CONFIG
    writeFileSync(join(dir, 'no-level.config.mjs'), moduleOf(noLevel))
    const args = [
      'doctor',
      '--offline',
      '--json',
      '--env-file=debug.env',
      '--config',
      'no-level.config.mjs',
    ]
    const fromFile = await aikit(args)
    expect(fromFile.code).toBe(1)
    const overridden = await aikit(args, { LOG_LEVEL: 'warn' })
    expect(overridden.code).toBe(0)
  }, 60_000)

  it('reads ./aikit.config.mjs when --config is not given', async () => {
    const sub = mkdtempSync(join(dir, 'app-'))
    writeFileSync(join(sub, 'aikit.config.mjs'), moduleOf(GOOD_CONFIG))
    const withConfig = await aikit(['doctor', '--offline', '--json'], GOOD_ENV, sub)
    expect(withConfig.code).toBe(0)
    const withoutConfig = await aikit(['doctor', '--offline', '--json'], GOOD_ENV)
    expect(withoutConfig.code).toBe(1) // no rate limit declared in production
  }, 60_000)

  it('exits 1 naming a misspelt key of the config module and the closest known name', async () => {
    const { rateLimit, ...rest } = GOOD_CONFIG
    const typo = { ...rest, ratelimit: rateLimit, budget: { ...GOOD_CONFIG.budget, mdoe: 'soft' } }
    writeFileSync(join(dir, 'typo.config.mjs'), moduleOf(typo))
    const args = ['doctor', '--offline', '--env-file', 'good.env', '--config', 'typo.config.mjs']
    const r = await aikit(args)
    expect(r.code).toBe(1)
    expect(r.stdout).toContain('ratelimit: unknown field; did you mean `rateLimit`?')
    expect(r.stdout).toContain('budget.mdoe: unknown field; did you mean `mode`?')
  })

  it('exits 2 on bad usage or unreadable input, without a checklist', async () => {
    const unknownFlag = await aikit(['doctor', '--colour'])
    expect(unknownFlag.code).toBe(2)
    expect(unknownFlag.stderr).toContain('Usage: aikit doctor')
    const noCommand = await aikit([])
    expect(noCommand.code).toBe(2)
    const missingConfig = await aikit(['doctor', '--config', 'nope.config.mjs'])
    expect(missingConfig.code).toBe(2)
    expect(missingConfig.stderr).toContain('cannot find --config nope.config.mjs')
    expect(missingConfig.stdout).toBe('')
    const help = await aikit(['--help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toContain('Exit codes')
  }, 60_000)

  it('prints why a config module failed to load without the secrets its error quotes', async () => {
    const password = 'Config-Pa55-word-9c2e'
    const key = 'sk-ant-api03-ConfigKey0123456789'
    writeFileSync(
      join(dir, 'refusing.config.mjs'),
      "throw new Error('refusing non-TLS Redis ' + process.env.REDIS_URL)\n"
    )
    writeFileSync(
      join(dir, 'parsing.config.mjs'),
      'export default JSON.parse(process.env.GOOGLE_CREDENTIALS)\n'
    )
    const env = {
      REDIS_URL: `redis://:${password}@10.0.0.5:6379`,
      GOOGLE_CREDENTIALS: key,
    }
    const refused = await aikit(['doctor', '--offline', '--config', 'refusing.config.mjs'], env)
    expect(refused.code).toBe(2)
    expect(refused.stderr).toContain('cannot load config')
    expect(refused.stderr).toContain('refusing non-TLS Redis')
    const parsed = await aikit(['doctor', '--offline', '--config', 'parsing.config.mjs'], env)
    expect(parsed.code).toBe(2)
    expect(parsed.stderr).toContain('SyntaxError')
    for (const r of [refused, parsed]) {
      expect(r.stdout + r.stderr).not.toContain(password)
      expect(r.stdout + r.stderr).not.toContain(key.slice(0, 10))
    }
  }, 60_000)
})

describe('aikit doctor connects to REDIS_URL unless --offline', () => {
  it('fails a refused connection in production without printing the password', async () => {
    const url = `redis://:Redis-Pa55-word-7f3a@127.0.0.1:${await freePort()}`
    const env = { NODE_ENV: 'production', REDIS_URL: url }
    const r = await aikit(['doctor'], env)
    expect(r.code).toBe(1)
    expect(r.stdout).toMatch(
      /^FAIL\s+redis-server\s+cannot connect to REDIS_URL: connection refused/m
    )
    expect(r.stdout + r.stderr).not.toContain('Redis-Pa55-word-7f3a')
    const offline = await aikit(['doctor', '--offline'], env)
    expect(offline.stdout).toMatch(/^STATUS/)
    expect(offline.stdout).not.toContain('redis-server')
  }, 60_000)

  it('reports a URL ioredis throws on (its error quotes the URL) without crashing or leaking it', async () => {
    const secret = 'Quoted-Pa55-word-3d1f'
    for (const url of [
      `redis:app:${secret}@127.0.0.1:99999`,
      `redis://:${secret}%zz@127.0.0.1:1`,
    ]) {
      const r = await aikit(['doctor', '--json'], { NODE_ENV: 'production', REDIS_URL: url })
      expect(r.code).toBe(1)
      const report = JSON.parse(r.stdout) as { items: { id: string; detail: string }[] }
      expect(report.items.find((i) => i.id === 'redis-server')?.detail).toMatch(
        /^ioredis cannot read REDIS_URL/
      )
      expect(r.stdout + r.stderr).not.toContain(secret)
    }
  }, 60_000)

  it('exits once the report is out when the server never answers nor closes', {
    timeout: 60_000,
  }, async () => {
    const sockets = new Set<Socket>()
    const wedged = createServer({ allowHalfOpen: true }, (socket) => {
      sockets.add(socket)
      socket.resume()
    })
    await new Promise<void>((done) => wedged.listen(0, '127.0.0.1', done))
    const { port } = wedged.address() as AddressInfo
    try {
      for (const scheme of ['redis', 'rediss']) {
        const env = { NODE_ENV: 'production', REDIS_URL: `${scheme}://127.0.0.1:${port}` }
        // Bounded: the probe gives up within its 3 s; 20 s is a generous cap.
        const run = await exitOf(['doctor'], env, dir, 20_000)
        expect(run.stdout).toMatch(/^FAIL\s+redis-server\s+no answer from REDIS_URL within/m)
        expect(run.code).toBe(1)
      }
    } finally {
      for (const socket of sockets) socket.destroy()
      await new Promise((done) => wedged.close(done))
    }
  })

  it('runDoctorOnline leaves no handle open: a script that calls it ends by itself', {
    timeout: 60_000,
  }, async () => {
    const sockets = new Set<Socket>()
    const wedged = createServer({ allowHalfOpen: true }, (socket) => {
      sockets.add(socket)
      socket.resume()
    })
    await new Promise<void>((done) => wedged.listen(0, '127.0.0.1', done))
    const { port } = wedged.address() as AddressInfo
    const script = join(dir, 'online.mjs')
    // No process.exit: the script ends only when nothing keeps the event loop alive.
    writeFileSync(
      script,
      [
        `import { runDoctorOnline } from ${JSON.stringify(pathToFileURL(join(PKG, 'dist/index.js')).href)}`,
        'const { items } = await runDoctorOnline({ env: process.env }, { timeoutMs: 200 })',
        "console.log(items.find((i) => i.id === 'redis-server').detail)",
      ].join('\n')
    )
    try {
      for (const scheme of ['redis', 'rediss']) {
        const env = { NODE_ENV: 'production', REDIS_URL: `${scheme}://127.0.0.1:${port}` }
        const run = await exitOf([], env, dir, 20_000, script)
        expect(run.stdout).toBe('no answer from REDIS_URL within 200 ms (ETIMEDOUT)\n')
        expect(run.code).toBe(0)
      }
    } finally {
      for (const socket of sockets) socket.destroy()
      await new Promise((done) => wedged.close(done))
    }
  })
})

/**
 * Runs the bin (or `script`) with exactly `env` and resolves with its exit code, or 'still running'
 * if it has not exited within `ms` (it is then killed).
 */
function exitOf(
  args: string[],
  env: Record<string, string>,
  cwd: string,
  ms: number,
  script = BIN
): Promise<{ code: number | null | 'still running'; stdout: string }> {
  const child = spawn(process.execPath, [script, ...args], {
    cwd,
    env: env as NodeJS.ProcessEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  child.stdout.on('data', (c: Buffer) => {
    stdout += c.toString()
  })
  return new Promise((done) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      done({ code: 'still running', stdout })
    }, ms)
    child.once('close', (code) => {
      clearTimeout(timer)
      done({ code, stdout })
    })
  })
}

// README: `store` may be "a real `Store` (its `kind` is read)", so the config module may export
// `redisStore(new Redis(url))` as the app passes it to the kit. Its open connection must not keep
// the doctor alive once the checklist is printed (a CI deploy gate would hang).
describe('aikit doctor with a config exporting a real redisStore', () => {
  let redis: RedisServer | undefined
  let app = ''

  beforeAll(async () => {
    redis = await startRedis()
    app = mkdtempSync(join(dir, 'redis-app-'))
    const ioredis = createRequire(resolve(PKG, '../testing/package.json')).resolve('ioredis')
    const coreRedis = pathToFileURL(resolve(PKG, '../core/dist/redis/index.js')).href
    writeFileSync(
      join(app, 'aikit.config.mjs'),
      `import { Redis } from ${JSON.stringify(pathToFileURL(ioredis).href)}
import { redisStore } from ${JSON.stringify(coreRedis)}
const store = redisStore(new Redis(process.env.REDIS_URL))
export default {
  rateLimit: { limits: [{ limit: 60, window: '1m' }], store },
  budget: { limits: [{ period: 'day', usd: 5 }], store },
  cache: { store },
}
`
    )
  })

  afterAll(async () => {
    await redis?.stop()
  })

  // Bounded: the checklist is printed in well under a second; 30 s is a generous cap (a loaded
  // runner may take seconds to start node), and one a doctor kept alive never meets.
  it.each([
    ['the table', [] as string[], '0 FAIL'],
    ['--json', ['--json'], '"ok": true'],
  ])(
    'prints %s and exits 0 instead of staying alive on the open client',
    async (_, flags, out) => {
      const run = await exitOf(['doctor', ...flags], { REDIS_URL: redis!.url }, app, 30_000)
      expect(run.stdout).toContain(out)
      expect(run.stdout).toMatch(/redis-server[\s\S]*Redis [\d.]+ reachable/)
      expect(run.code).toBe(0)
    },
    60_000
  )

  it('exits 1 on a failing item with the client still open', async () => {
    // METRICS_TOKEN shorter than metricsHandler accepts: a FAIL.
    const env = { REDIS_URL: redis!.url, METRICS_TOKEN: 'short' }
    const run = await exitOf(['doctor'], env, app, 30_000)
    expect(run.stdout).toMatch(/not ready to launch\n$/)
    expect(run.code).toBe(1)
  }, 60_000)
})
