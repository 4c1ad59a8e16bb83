// Instructions per request of the observability HTTP variants, counted by valgrind (cachegrind),
// for A/B work on a machine too busy for timings: the count does not depend on what else runs.
// Each variant runs twice under `valgrind --tool=cachegrind --cache-sim=no`, its app (app.mjs)
// and a one-socket load generator in one single-threaded process: `--warm` requests, then
// `--requests` more in the second run; (second - first) / requests is the variant's count
// (start-up and warm-up cancel out). Requests go 8 pipelined per write on one keep-alive socket,
// the next 8 once all 8 are answered, so every run sees the same batches.
// Caveats: valgrind runs the process ~50x slower, so every request lands in a new millisecond
// (per-millisecond work, such as formatting a log timestamp, counts on every request) and
// instructions weigh syscalls and cache misses at zero; read the differences, not µs.
// Usage: node bench/observability/http-instructions.mjs [--framework fastify|express]
//        [--variants bare,metrics,metrics-logger] [--warm 20000] [--requests 30000]
//        [--app observability|security|protocol]   (security: bench/security/headers-app.mjs, variants
//        bare,helmet,aikit,adapter,floor, e.g. --app security --variants floor,aikit; protocol:
//        bench/protocol/app.mjs, variants bare,native,koa,aikit,noctx)
//        [--wave 8]   (requests pipelined per write; 1: one request at a time, as autocannon sends)
//        [--before path/to/another/build/dist/index.js]   (adds that build's variants)
//        (~3 min per variant; needs valgrind; build first as for run.mjs)
import { execFile } from 'node:child_process'
import { connect } from 'node:net'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const strArg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? fallback : process.argv[i + 1]
}

/** The apps: their module and the paths requests cycle through. */
const APPS = {
  observability: { module: './app.mjs', paths: ['/items/1', '/items/2', '/items/3', '/items/4'] },
  security: { module: '../security/headers-app.mjs', paths: ['/', '/', '/', '/'] },
  protocol: { module: '../protocol/app.mjs', paths: ['/', '/', '/', '/'] },
}

/** Child: serves `variant` of `app` and sends `total` requests to itself, `perWrite` pipelined at a time. */
async function child(app, variant, total, perWrite) {
  const { startApp } = await import(APPS[app].module)
  const port = await startApp(variant)
  const requests = APPS[app].paths.map((path) =>
    Buffer.from(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`)
  )
  const ok = 'HTTP/1.1 200 '
  await new Promise((resolve, reject) => {
    let sent = 0
    let received = 0
    let waveLeft = 0
    let tail = ''
    const socket = connect(port, '127.0.0.1')
    const wave = () => {
      const n = Math.min(perWrite, total - sent)
      const chunks = []
      for (let i = 0; i < n; i++) chunks.push(requests[sent++ & 3])
      waveLeft = n
      socket.write(Buffer.concat(chunks))
    }
    socket.on('data', (chunk) => {
      const text = tail + chunk.latin1Slice(0, chunk.length)
      for (let at = text.indexOf(ok); at !== -1; at = text.indexOf(ok, at + ok.length)) {
        received++
        waveLeft--
      }
      tail = text.slice(-(ok.length - 1))
      if (received === total) {
        socket.destroy()
        resolve()
      } else if (waveLeft === 0) wave()
    })
    socket.on('error', reject)
    if (total > 0) wave()
    else resolve()
  })
  process.exit(0)
}

if (process.argv[2] === '--child') {
  await child(process.argv[3], process.argv[4], Number(process.argv[5]), Number(process.argv[6]))
} else {
  const app = strArg('app', 'observability')
  if (APPS[app] === undefined) throw new Error(`--app must be one of ${Object.keys(APPS)}`)
  const framework = strArg('framework', 'fastify')
  const modes = strArg('variants', 'bare,metrics,metrics-logger,metrics-logger-noctx').split(',')
  const warm = Number(strArg('warm', '20000'))
  const perRun = Number(strArg('requests', '30000'))
  const wave = Number(strArg('wave', '8'))
  const before = strArg('before', undefined)
  const variants = modes.map((mode) => ({ label: mode, mode, env: {} }))
  if (before !== undefined) {
    for (const mode of modes) {
      if (mode === 'bare') continue
      variants.push({ label: `${mode} (before)`, mode, env: { AIKIT_OBSERVABILITY_ENTRY: before } })
    }
  }
  const self = fileURLToPath(import.meta.url)
  const run = promisify(execFile)
  /** Instructions of one valgrind run serving `total` requests. */
  const count = async (v, total) => {
    const { stderr } = await run(
      'valgrind',
      [
        '--tool=cachegrind',
        '--cache-sim=no',
        '--cachegrind-out-file=/dev/null',
        process.execPath,
        '--single-threaded', // no background compiler or GC threads: the same work every run
        self,
        '--child',
        app,
        `${framework}-${v.mode}`,
        String(total),
        String(wave),
      ],
      { env: { ...process.env, ...v.env }, maxBuffer: 1 << 24 }
    )
    const match = /I\s+refs:\s+([\d,]+)/.exec(stderr)
    if (match === null) throw new Error(`no instruction count for ${v.label}:\n${stderr}`)
    return Number(match[1].replaceAll(',', ''))
  }
  const rows = []
  for (const v of variants) {
    const perRequest = ((await count(v, warm + perRun)) - (await count(v, warm))) / perRun
    process.stderr.write(`${v.label}: ${Math.round(perRequest)} instructions/request\n`)
    rows.push({ variant: v.label, perRequest })
  }
  const bare = rows.find((r) => r.variant === 'bare')
  console.log(
    `${app} ${framework}: instructions per request (valgrind), ${warm} warm-up + ${perRun} requests, ${wave} per write, Node ${process.version}`
  )
  console.table(
    rows.map((r) => ({
      variant: r.variant,
      'instructions/request': Math.round(r.perRequest),
      'bare / variant': bare === undefined ? '' : (bare.perRequest / r.perRequest).toFixed(3),
    }))
  )
}
