/**
 * Two servers in one process (the app, and /metrics + probes on their own port, as is common), each
 * with `gracefulShutdown` at its defaults (`exit: true`): on SIGTERM the process exits 0 only once
 * both shutdowns are over, so the idle server's quick shutdown does not cut the streamed answer in
 * flight on the busy one.
 */ import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'tsup'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const here = dirname(fileURLToPath(import.meta.url))
const outDir = join(here, '..', 'node_modules', '.aikit-test')
let script: string
const children: ChildProcess[] = []

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'aikit-two-servers-'))
  const entry = join(dir, 'shutdown-two-servers.ts')
  const source = join(here, '..', 'src', 'health', 'graceful-shutdown.ts')
  writeFileSync(
    entry,
    `import { createServer } from 'node:http'
import { gracefulShutdown } from ${JSON.stringify(source)}
let release = () => {}
const gate = new Promise((r) => { release = r })
const app = createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/event-stream' })
  res.write('data: first\\n\\n')
  gate.then(() => res.end('data: last\\n\\n'))
})
const side = createServer((req, res) => res.end('ok'))
await new Promise((r) => app.listen(0, '127.0.0.1', r))
await new Promise((r) => side.listen(0, '127.0.0.1', r))
gracefulShutdown(app, { delayMs: 200 })
gracefulShutdown(side, { delayMs: 200 })
process.on('SIGTERM', () => { console.log('sigterm'); setTimeout(release, 1500) })
console.log(JSON.stringify({ port: app.address().port }))
`
  )
  await build({
    entry: { 'shutdown-two-servers': entry },
    outDir,
    format: ['esm'],
    platform: 'node',
    target: 'node20',
    config: false,
    silent: true,
    dts: false,
    sourcemap: false,
    clean: false,
    splitting: false,
    noExternal: [/^@aikit\//],
    esbuildOptions(o) {
      o.conditions = ['@aikit/source']
    },
  })
  script = join(outDir, 'shutdown-two-servers.js')
}, 60_000)

afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
})

function nextLine(child: ChildProcess, test: (line: string) => boolean): Promise<string> {
  return new Promise((resolve) => {
    let out = ''
    const onData = (c: Buffer) => {
      out += c.toString()
      for (const line of out.split('\n')) {
        if (test(line)) {
          child.stdout?.off('data', onData)
          resolve(line)
          return
        }
      }
    }
    child.stdout?.on('data', onData)
  })
}

describe('gracefulShutdown on two servers of one process', () => {
  it('the streamed answer in flight on the busy server finishes before the process exits', async () => {
    const child = spawn(process.execPath, [script], { stdio: ['pipe', 'pipe', 'pipe'] })
    children.push(child)
    const exited = new Promise<number | null>((resolve) =>
      child.on('exit', (code) => resolve(code))
    )
    const { port } = JSON.parse(await nextLine(child, (l) => l.startsWith('{'))) as { port: number }
    const res = await fetch(`http://127.0.0.1:${port}/stream`)
    const reader = res.body!.getReader()
    const decoder = new TextDecoder()
    let text = decoder.decode((await reader.read()).value)
    const sigterm = nextLine(child, (l) => l === 'sigterm')
    child.kill('SIGTERM')
    await sigterm
    try {
      for (let i = 0; i < 100; i++) {
        const { done, value } = await reader.read()
        if (done) break
        text += decoder.decode(value)
      }
    } catch {
      // the connection was cut
    }
    expect(await exited).toBe(0)
    expect(text).toBe('data: first\n\ndata: last\n\n')
  }, 30_000)
})
