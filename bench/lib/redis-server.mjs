// Starts a throwaway redis-server on a free loopback port for a benchmark (no persistence) and
// stops it on exit. Benchmarks run with plain `node`, so they cannot import the TypeScript test
// harness in packages/testing; this is its small JavaScript counterpart.
import { spawn } from 'node:child_process'
import { createServer } from 'node:net'

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address()
      srv.close(() => resolve(port))
    })
  })
}

/**
 * The server logs at `verbose` level (connections accepted and closed, protocol errors), kept as a
 * tail: `logTail()` gives its last lines, for a bench whose client lost its connection.
 * @returns {Promise<{ port: number, url: string, logTail(): string, stop(): Promise<void> }>}
 */
export async function startRedisServer() {
  const port = await freePort()
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--loglevel',
      'verbose',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] }
  )
  await new Promise((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => reject(new Error('redis-server did not start in 10 s')), 10_000)
    child.once('error', reject)
    child.stdout.on('data', (d) => {
      out += d
      if (out.includes('Ready to accept connections')) {
        clearTimeout(timer)
        resolve()
      }
    })
  })
  // The server's last log lines, printed if it dies before `stop()` (and on request, `logTail`): a
  // bench then says why its clients lost the connection.
  let tail = ''
  child.stdout.on('data', (d) => {
    tail = (tail + d).slice(-4000)
  })
  let stopping = false
  child.once('exit', (code, signal) => {
    if (stopping) return
    process.stderr.write(
      `redis-server on port ${port} exited unexpectedly (code ${code}, signal ${signal}); its last lines:\n${tail}\n`
    )
  })
  const stop = () =>
    new Promise((resolve) => {
      stopping = true
      if (child.exitCode !== null || child.signalCode !== null) return resolve()
      child.once('exit', () => resolve())
      child.kill('SIGKILL')
    })
  process.once('exit', () => child.kill('SIGKILL'))
  return { port, url: `redis://127.0.0.1:${port}`, logTail: () => tail, stop }
}
