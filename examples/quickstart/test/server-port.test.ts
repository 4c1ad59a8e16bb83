/**
 * `node server.mjs` as a user runs it (it loads the packages' built dist, as `pnpm start` does):
 * the line it prints names the port it really listens on, and an empty PORT is no PORT.
 */
import { spawn } from 'node:child_process'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

const exampleDir = resolve(import.meta.dirname, '..')

/** Starts server.mjs with `env` and resolves with its first stdout line (or its exit and stderr). */
async function firstLine(env: Record<string, string>): Promise<{ line: string; stderr: string }> {
  const childEnv: Record<string, string | undefined> = { ...process.env, LOG_LEVEL: 'warn', ...env }
  delete childEnv.ANTHROPIC_API_KEY // the fake model, never the network
  const child = spawn(process.execPath, ['server.mjs'], {
    cwd: exampleDir,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString()
  })
  try {
    return await new Promise((done) => {
      child.stdout.on('data', (c: Buffer) => {
        stdout += c.toString()
        if (stdout.includes('\n')) done({ line: stdout.split('\n')[0] ?? '', stderr })
      })
      child.once('exit', () => done({ line: stdout, stderr }))
    })
  } finally {
    child.kill('SIGKILL')
  }
}

describe('quickstart server.mjs', () => {
  it('PORT=0 listens on a free port and prints that port, not :0', async () => {
    const { line, stderr } = await firstLine({ PORT: '0', HOST: '127.0.0.1' })
    const port = Number(/^AI Kit quickstart on http:\/\/127\.0\.0\.1:(\d+) /.exec(line)?.[1])
    expect(port, `${line}\n${stderr}`).toBeGreaterThan(0)
  })

  it('an empty PORT is treated as unset (3000)', async () => {
    const { line, stderr } = await firstLine({ PORT: '', HOST: '127.0.0.1' })
    // Port 3000 may be taken on this machine: then the server fails on 3000, still not on ':0'.
    if (line.startsWith('AI Kit quickstart')) expect(line).toContain('http://127.0.0.1:3000 ')
    else expect(stderr).toMatch(/EADDRINUSE.*:3000/)
  })
})
