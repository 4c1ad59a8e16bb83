/**
 * The redis-server processes (and sentinels) a test process starts die with it, however it dies:
 * here a plain `node` child plays the test process, starts a server and a sentinel through the
 * harness, and is then killed by a signal (SIGTERM, which runs no `exit` hook, and SIGKILL).
 *
 * The child cannot import the TypeScript sources directly on Node 20, so they are transpiled
 * (TypeScript's `transpileModule`, the repo's own compiler) into a temp dir inside this package's
 * node_modules, where `ioredis` still resolves.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { rawCommand } from '../src/redis.js'

const packageDir = resolve(import.meta.dirname, '..')
const ts = createRequire(import.meta.url)('typescript') as typeof import('typescript')
let dir = ''

beforeAll(() => {
  dir = mkdtempSync(join(packageDir, 'node_modules', '.parent-death-'))
  for (const name of ['processes', 'raw-command', 'server-process', 'redis', 'sentinel']) {
    const source = readFileSync(join(packageDir, 'src', `${name}.ts`), 'utf8')
    const { outputText } = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    })
    writeFileSync(join(dir, `${name}.js`), outputText)
  }
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n')
  writeFileSync(
    join(dir, 'child.js'),
    `import { startRedis } from './redis.js'
import { startRedisSentinel } from './sentinel.js'
const server = await startRedis()
const sentinel = await startRedisSentinel()
const dirs = []
for (const s of [server, sentinel.master]) dirs.push((await s.client().config('GET', 'dir'))[1])
const ports = [server.port, sentinel.master.port, sentinel.sentinel.port]
process.stdout.write(JSON.stringify({ ports, dirs }) + '\\n')
setInterval(() => {}, 60_000)
`
  )
})

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true })
})

/** Resolves true once nothing answers on `port`, false if something still does after ~5 s. */
async function goesDown(port: number): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    const reply = await rawCommand(port, ['PING'], 500).catch(() => 'down')
    if (reply === 'down') return true
    await new Promise((r) => setTimeout(r, 50))
  }
  return false
}

interface Started {
  ports: number[]
  /** The temp dirs of the two redis-servers. */
  dirs: string[]
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((done) => {
    if (child.exitCode !== null || child.signalCode !== null) done()
    else child.once('exit', () => done())
  })
}

describe('servers die with the test process', () => {
  it.each(['SIGTERM', 'SIGKILL'] as const)(
    'redis-servers and a sentinel stop, and their temp dirs go, when the parent gets %s',
    async (signal) => {
      const child = spawn(process.execPath, [join(dir, 'child.js')], {
        cwd: packageDir,
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      let stderr = ''
      child.stderr.on('data', (c: Buffer) => {
        stderr += c.toString()
      })
      let started: Started | undefined
      try {
        started = await new Promise<Started>((done, fail) => {
          let out = ''
          child.stdout.on('data', (c: Buffer) => {
            out += c.toString()
            if (out.includes('\n')) done(JSON.parse(out) as Started)
          })
          child.once('exit', (code) => fail(new Error(`child exited (${code}):\n${stderr}`)))
        })
        for (const port of started.ports) expect(await rawCommand(port, ['PING'])).toBe('PONG')
        for (const d of started.dirs) expect(existsSync(d)).toBe(true)

        child.kill(signal)
        await exited(child)
        expect(child.signalCode).toBe(signal) // died of the signal: no exit hook ran

        for (const port of started.ports) expect(await goesDown(port)).toBe(true)
        for (const d of started.dirs) {
          for (let i = 0; i < 100 && existsSync(d); i++) await new Promise((r) => setTimeout(r, 50))
          expect(existsSync(d)).toBe(false)
        }
      } finally {
        child.kill('SIGKILL')
        // Whatever is still up (the test failed): shut it down.
        for (const port of started?.ports ?? []) {
          await rawCommand(port, ['SHUTDOWN', 'NOSAVE'], 500).catch(() => {})
        }
        for (const d of started?.dirs ?? []) rmSync(d, { recursive: true, force: true })
      }
    },
    30_000
  )
})
