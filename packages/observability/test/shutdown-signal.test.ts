/**
 * A real SIGTERM to a real server process in the middle of a streamed answer: readiness fails, the
 * server stops accepting connections, the stream still finishes in full, and the process exits 0.
 * A SIGTERM repeated during the drain (a supervisor or operator sending it again; terminus and
 * lightship ignore it too) changes nothing of that.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildFixture } from './fixtures/build.js'

let script: string
const children: ChildProcess[] = []

beforeAll(async () => {
  script = await buildFixture('shutdown-app')
})

afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
})

/** Resolves with the first stdout line matching `test`. */
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

/** Polls until `probe` resolves true; bounded by a number of attempts, never by a duration check. */
async function eventually(probe: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await probe()) return
    await new Promise((r) => setTimeout(r, 25))
  }
  throw new Error('condition never held')
}

describe('gracefulShutdown on a real SIGTERM', () => {
  it('fails readiness, lets the streamed answer in flight finish, then exits 0', async () => {
    const child = spawn(process.execPath, [script], {
      env: { ...process.env, AIKIT_DELAY_MS: '500' },
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    children.push(child)
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
      child.on('exit', (code, signal) => resolve({ code, signal }))
    )
    const { port } = JSON.parse(await nextLine(child, (l) => l.startsWith('{'))) as { port: number }
    const base = `http://127.0.0.1:${port}`
    expect((await fetch(`${base}/readyz`, { headers: { connection: 'close' } })).status).toBe(200)

    const res = await fetch(`${base}/stream`)
    const reader = res.body!.getReader()
    const decoder = new TextDecoder()
    let text = decoder.decode((await reader.read()).value)
    expect(text).toBe('data: first\n\n')

    const sigterm = nextLine(child, (l) => l === 'sigterm')
    child.kill('SIGTERM')
    await sigterm
    // During the delay the server still accepts connections, and readiness fails.
    const ready = await fetch(`${base}/readyz`, { headers: { connection: 'close' } })
    expect(ready.status).toBe(503)
    expect(((await ready.json()) as { output?: string }).output).toBe('shutting down')

    // Then it stops accepting connections while the stream is still open…
    await eventually(() =>
      fetch(`${base}/livez`, { headers: { connection: 'close' } }).then(
        () => false,
        () => true
      )
    )
    expect(child.exitCode).toBe(null)
    // …and the stream, released only now, still arrives in full.
    child.stdin?.write('go\n')
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      text += decoder.decode(value)
    }
    expect(text).toBe('data: first\n\ndata: last\n\n')
    expect(await exited).toEqual({ code: 0, signal: null })
  })

  // A cleanup that hangs (`redis.quit()` during a Redis outage) kept the process alive until the
  // orchestrator's SIGKILL: it gets `timeoutMs`, then the process exits as after any drain.
  it('exits 0 when onShutdown hangs, once it has had timeoutMs', async () => {
    const child = spawn(process.execPath, [script], {
      env: {
        ...process.env,
        AIKIT_DELAY_MS: '0',
        AIKIT_TIMEOUT_MS: '300',
        AIKIT_HANG_ON_SHUTDOWN: '1',
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    children.push(child)
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
      child.on('exit', (code, signal) => resolve({ code, signal }))
    )
    await nextLine(child, (l) => l.startsWith('{'))
    const cleanup = nextLine(child, (l) => l === 'cleanup')
    child.kill('SIGTERM')
    await cleanup
    // Bounded: well past the 300 ms the cleanup may take; a process still running then never exits.
    const stillRunning = new Promise<'still running'>((resolve) =>
      setTimeout(() => resolve('still running'), 10_000).unref()
    )
    expect(await Promise.race([exited, stillRunning])).toEqual({ code: 0, signal: null })
  })

  it('keeps draining on a repeated SIGTERM: the stream in flight finishes and the process exits 0', async () => {
    // No SIGTERM listener but gracefulShutdown's: a signal it did not absorb would kill the process.
    const child = spawn(process.execPath, [script], {
      env: { ...process.env, AIKIT_DELAY_MS: '1000', AIKIT_ECHO_SIGTERM: '0' },
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    children.push(child)
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
      child.on('exit', (code, signal) => resolve({ code, signal }))
    )
    const { port } = JSON.parse(await nextLine(child, (l) => l.startsWith('{'))) as { port: number }
    const base = `http://127.0.0.1:${port}`
    const res = await fetch(`${base}/stream`)
    const reader = res.body!.getReader()
    const decoder = new TextDecoder()
    let text = decoder.decode((await reader.read()).value)
    expect(text).toBe('data: first\n\n')

    child.kill('SIGTERM')
    // The first signal was handled: readiness fails (the server still accepts during the delay).
    await eventually(() =>
      fetch(`${base}/readyz`, { headers: { connection: 'close' } }).then(
        (r) => r.status === 503,
        () => false
      )
    )
    child.kill('SIGTERM') // during the delay
    // Then it stops accepting connections (draining), and a third one arrives then.
    await eventually(() =>
      fetch(`${base}/livez`, { headers: { connection: 'close' } }).then(
        () => false,
        () => true
      )
    )
    child.kill('SIGTERM')
    await new Promise((r) => setTimeout(r, 100))
    expect({ exitCode: child.exitCode, signalCode: child.signalCode }).toEqual({
      exitCode: null,
      signalCode: null,
    })
    child.stdin?.write('go\n')
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      text += decoder.decode(value)
    }
    expect(text).toBe('data: first\n\ndata: last\n\n')
    expect(await exited).toEqual({ code: 0, signal: null })
  })
})
