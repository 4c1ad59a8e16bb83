// Shared parts of the autocannon benchmarks: one child-process server per variant (the script
// writes its port as the first line on file descriptor 3 and answers `cpu` / `mem` lines on stdin
// with one JSON line there; its stdout, where an app may log a line per request, goes to
// /dev/null), a measurement with a warm-up, and the interleaved-rounds loop with paired ratios.
import { spawn } from 'node:child_process'
import { writeSync } from 'node:fs'
import autocannon from 'autocannon'
import { serverCommand } from './pin.mjs'
import { median } from './results.mjs'

/** `--name value` from argv as a number, or `fallback`. */
export function numArg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? fallback : Number(process.argv[i + 1])
}

/**
 * Starts `node [nodeArgs] script variant` (on CPU 1 under `--pin`, see pin.mjs); resolves once it
 * printed its port.
 * @returns {Promise<{ child: import('node:child_process').ChildProcess, port: number, ask(cmd: string): Promise<any>, stop(): void }>}
 */
export async function startServer(script, variant, nodeArgs = [], env = {}) {
  const [command, args] = serverCommand([...nodeArgs, script, variant])
  const child = spawn(command, args, {
    stdio: ['pipe', 'ignore', 'inherit', 'pipe'],
    env: { ...process.env, ...env },
  })
  const control = child.stdio[3]
  control.setEncoding('utf8')
  let buffer = ''
  const waiting = []
  control.on('data', (d) => {
    buffer += d
    let nl = buffer.indexOf('\n')
    while (nl !== -1) {
      const line = buffer.slice(0, nl).trim()
      buffer = buffer.slice(nl + 1)
      waiting.shift()?.(line)
      nl = buffer.indexOf('\n')
    }
  })
  const nextLine = () => new Promise((r) => waiting.push(r))
  const exited = new Promise((_, reject) => {
    child.once('error', reject)
    child.once('exit', (code) => reject(new Error(`${variant} exited with ${code}`)))
  })
  const port = Number(await Promise.race([nextLine(), exited]))
  exited.catch(() => {}) // after start-up, an exit is ours (stop) or shows up as a failed request
  const ask = async (cmd) => {
    const reply = nextLine()
    child.stdin.write(`${cmd}\n`)
    return JSON.parse(await reply)
  }
  const stop = () => {
    child.removeAllListeners('exit')
    child.kill('SIGKILL')
  }
  return { child, port, ask, stop }
}

/** Answers the `cpu` and `mem` commands of startServer on this process's stdin; sends the port. */
export function serveControl(port) {
  const reply = (line) => writeSync(3, `${line}\n`)
  reply(String(port))
  process.stdin.setEncoding('utf8')
  process.stdin.on('data', (chunk) => {
    for (const line of chunk.split('\n')) {
      const cmd = line.trim()
      if (cmd === 'cpu') {
        const { user, system } = process.cpuUsage()
        reply(JSON.stringify({ cpuMicros: user + system }))
      } else if (cmd === 'mem') {
        const raw = process.memoryUsage()
        globalThis.gc?.()
        const after = process.memoryUsage()
        reply(
          JSON.stringify({
            rss: raw.rss,
            heapUsed: raw.heapUsed,
            heapAfterGc: after.heapUsed,
            rssAfterGc: after.rss,
          })
        )
      }
    }
  })
  process.on('SIGTERM', () => process.exit(0))
}

/**
 * One measurement of a running server: 1 s warm-up, then `seconds` of load.
 * `opts` are autocannon options (url, connections, requests, headers...).
 */
export async function measureRunning(server, opts, seconds, { status = 200 } = {}) {
  await autocannon({ ...opts, duration: 1 })
  const cpuBefore = (await server.ask('cpu')).cpuMicros
  const result = await autocannon({ ...opts, duration: seconds })
  const cpuAfter = (await server.ask('cpu')).cpuMicros
  const codes = Object.keys(result.statusCodeStats ?? {}).map(Number)
  if (result.errors > 0 || codes.some((c) => c !== status)) {
    const seen = JSON.stringify(
      Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([k, v]) => [k, v.count]))
    )
    throw new Error(`expected only ${status}: status codes ${seen}, ${result.errors} errors`)
  }
  return {
    rps: result.requests.average,
    p99: result.latency.p99,
    cpuPerReq: (cpuAfter - cpuBefore) / result.requests.total,
  }
}

/**
 * Interleaved rounds: each round measures every variant once (order rotated by round) through
 * `measureOne(variant)`; returns per-variant samples and `ratio(a, b)` = median over rounds of
 * rps(a)/rps(b) from the same round (`capacity(a, b)`: the same from server CPU per request).
 */
export async function interleave(variants, rounds, measureOne, label = '') {
  const samples = Object.fromEntries(variants.map((v) => [v, []]))
  for (let round = 0; round < rounds; round++) {
    const order = variants.map((_, i) => variants[(i + round) % variants.length])
    for (const v of order) {
      const r = await measureOne(v)
      samples[v].push(r)
      process.stderr.write(
        `${label}round ${round + 1}/${rounds} ${v}: ${Math.round(r.rps)} req/s, p99 ${r.p99} ms, ${r.cpuPerReq.toFixed(1)} µs CPU/req\n`
      )
    }
  }
  const med = (v, k) => median(samples[v].map((s) => s[k]))
  return {
    samples,
    rps: (v) => med(v, 'rps'),
    p99: (v) => med(v, 'p99'),
    cpu: (v) => med(v, 'cpuPerReq'),
    ratio: (a, b) => median(samples[a].map((s, i) => s.rps / samples[b][i].rps)),
    capacity: (a, b) => median(samples[a].map((s, i) => samples[b][i].cpuPerReq / s.cpuPerReq)),
  }
}
