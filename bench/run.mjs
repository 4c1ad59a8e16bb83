// Runs every package benchmark in one go and writes bench/RESULTS.md and bench/ratios.svg:
//   1. one summary table, every row ours vs an anchor from the same run, with the issue's target
//      and whether it was met (rows come from each bench's `record()` calls, bench/lib/results.mjs);
//   2. the machine (CPU, cores, memory, Node, load average at the start) and every anchor's version;
//   3. each benchmark's own report.
// Usage: pnpm bench [-- --quick]   (`--quick`: fewer rounds / shorter runs / a smaller load test)
//        [-- --only ratelimit,load]   (only the benches whose script path contains one of these)
//        [-- --pin]   (the HTTP benches that support it put their load generator on CPU 0 and
//                      their servers on CPU 1: read their capacity ratios, see bench/lib/pin.mjs)
//
// Run it on a quiet machine: every figure is a ratio of paired rounds, but two cores shared with
// other work still move them.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, release, tmpdir, totalmem, type } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { renderRatioChart } from './lib/chart.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const quick = process.argv.includes('--quick')
const onlyArg = process.argv.indexOf('--only')
const only = onlyArg === -1 ? undefined : process.argv[onlyArg + 1].split(',')
const pin = process.argv.includes('--pin')
const http = quick ? ['--seconds', '2', '--rounds', '3'] : ['--seconds', '3', '--rounds', '5']
/** The HTTP benches that take `--pin`. */
const pinnable = (args) => (pin ? [...args, '--pin'] : args)
const micro = quick ? ['--rounds', '3'] : ['--rounds', '5']
// The load test's memory run: 1M requests took ~8 min on the shared 2-core box (~2k req/s through
// the full stack), so `pnpm bench` runs 400k (four samples after the 100k keys are all in) and
// `--quick` 200k; 1M is `node bench/load/fastify-example.mjs --requests 1000000`.
const load = quick
  ? ['--seconds', '2', '--rounds', '3', '--requests', '200000', '--sample-every', '50000']
  : ['--seconds', '3', '--rounds', '5', '--requests', '400000', '--sample-every', '100000']

/** [title, script, args] in the order of the issues. */
const BENCHES = [
  [
    'Protocol: 5 no-op middleware vs the bare framework (issue 2)',
    'protocol/run.mjs',
    pinnable(http),
  ],
  ['Protocol: compose in process vs koa-compose', 'protocol/compose.mjs', []],
  ['Rate limiting vs rate-limiter-flexible (issue 3)', 'ratelimit/run.mjs', micro],
  [
    'Rate limiting over HTTP vs express-rate-limit / @fastify/rate-limit (issue 10)',
    'ratelimit/http.mjs',
    http,
  ],
  [
    'Rate limiting vs @upstash/ratelimit through a local REST proxy (issue 10)',
    'ratelimit/upstash.mjs',
    micro,
  ],
  ['Cache vs bentocache / cache-manager / lru-cache (issue 4)', 'cache/run.mjs', micro],
  [
    'Security headers vs helmet / @fastify/helmet (issue 5)',
    'security/headers.mjs',
    pinnable(http),
  ],
  ['Redaction vs pino (issue 5)', 'security/redact.mjs', []],
  [
    'HTTP metrics and logs vs fastify-metrics / express-prom-bundle, scrape vs prom-client (issue 6)',
    'observability/run.mjs',
    pinnable([...http, '--express']),
  ],
  ['Budgets and token estimates (issue 7)', 'cost/run.mjs', micro],
  ['LLM client wrapper overhead (issue 8)', 'llm/run.mjs', []],
  ['Compression vs compression / @fastify/compress (issue 11)', 'extras/compress.mjs', http],
  [
    'Load test: the Fastify example with the full stack (issue 10)',
    'load/fastify-example.mjs',
    load,
  ],
]

/** The anchors issue 10 asks the summary to name, and where each is measured. */
const REQUIRED_ANCHORS = [
  ['rate-limiter-flexible', 'ratelimit/run.mjs'],
  ['@upstash/ratelimit', 'ratelimit/upstash.mjs'],
  ['express-rate-limit', 'ratelimit/http.mjs'],
  ['@fastify/rate-limit', 'ratelimit/http.mjs'],
  ['bentocache', 'cache/run.mjs'],
  ['cache-manager', 'cache/run.mjs'],
  ['helmet', 'security/headers.mjs'],
  ['express-prom-bundle', 'observability/run.mjs'],
]

const ANCHOR_PACKAGES = [
  'fastify',
  'express',
  'autocannon',
  'rate-limiter-flexible',
  '@upstash/ratelimit',
  '@upstash/redis',
  'express-rate-limit',
  '@fastify/rate-limit',
  'bentocache',
  'cache-manager',
  'keyv',
  'lru-cache',
  'ioredis',
  'helmet',
  '@fastify/helmet',
  'pino',
  'prom-client',
  'fastify-metrics',
  'express-prom-bundle',
  'koa-compose',
  'gpt-tokenizer',
  '@anthropic-ai/sdk',
  'compression',
  '@fastify/compress',
]

function packageVersion(name) {
  try {
    return JSON.parse(readFileSync(join(here, 'node_modules', name, 'package.json'), 'utf8'))
      .version
  } catch {
    return 'n/a'
  }
}

function redisVersion() {
  const out = spawnSync('redis-server', ['--version'], { encoding: 'utf8' })
  return /v=(\S+)/.exec(out.stdout ?? '')?.[1] ?? 'n/a'
}

const startedAt = new Date()
const machine = {
  cpu: cpus()[0]?.model ?? 'unknown CPU',
  cores: cpus().length,
  memoryGiB: (totalmem() / 2 ** 30).toFixed(1),
  os: `${type()} ${release()}`,
  node: process.version,
  redis: redisVersion(),
  loadAverage: loadavg().map((x) => x.toFixed(2)),
}

const build = spawnSync(
  'pnpm',
  ['turbo', 'run', 'build', '--filter=@aikit/bench...', '--output-logs=errors-only'],
  {
    cwd: join(here, '..'),
    stdio: 'inherit',
  }
)
if (build.status !== 0) process.exit(build.status ?? 1)

const workDir = mkdtempSync(join(tmpdir(), 'aikit-bench-'))
const sections = []
const rows = []
const failures = []
for (const [title, script, args] of BENCHES) {
  if (only && !only.some((o) => script.includes(o))) continue
  const path = join(here, script)
  if (!existsSync(path)) {
    sections.push(`## ${title}\n\n(not present: \`bench/${script}\`)\n`)
    failures.push([script, 'not present'])
    continue
  }
  const command = `node bench/${script} ${args.join(' ')}`.trim()
  process.stdout.write(`\n=== ${title}: ${command}\n`)
  const resultsFile = join(workDir, `${script.replace(/\W/g, '_')}.jsonl`)
  const started = Date.now()
  const runOnce = () => {
    rmSync(resultsFile, { force: true })
    return spawnSync(process.execPath, [path, ...args], {
      cwd: join(here, '..'),
      encoding: 'utf8',
      env: { ...process.env, AIKIT_BENCH_RESULTS: resultsFile },
      maxBuffer: 16 * 1024 * 1024,
      timeout: 20 * 60_000,
    })
  }
  let run = runOnce()
  // Someone rebuilding a package while this runs (tsup empties dist/ first) makes a bench fail on
  // a missing dist file: wait for the build to finish and run that bench once more.
  let retried = ''
  if (run.status !== 0 && /ERR_MODULE_NOT_FOUND[\s\S]*\/dist\//.test(run.stderr ?? '')) {
    process.stdout.write(
      '(a package dist/ vanished mid-run: a concurrent build; retrying in 30 s)\n'
    )
    spawnSync('sleep', ['30'])
    run = runOnce()
    retried = ' (run twice: a concurrent package build broke the first attempt)'
  }
  const failed = run.status !== 0
  const out = `${run.stdout ?? ''}${failed ? `\n[exit ${run.status ?? run.signal}] ${run.stderr ?? ''}` : ''}`
  process.stdout.write(out)
  if (failed) failures.push([script, `exit ${run.status ?? run.signal}`])
  if (existsSync(resultsFile)) {
    for (const line of readFileSync(resultsFile, 'utf8').split('\n')) {
      if (line.trim()) rows.push({ ...JSON.parse(line), script })
    }
  }
  const secs = Math.round((Date.now() - started) / 1000)
  sections.push(
    `## ${title}\n\n\`${command}\` (${secs} s)${retried}\n\n\`\`\`\n${out.trim()}\n\`\`\`\n`
  )
}
rmSync(workDir, { recursive: true, force: true })

// ---- the summary --------------------------------------------------------------------------------

const num = (x, unit) => {
  if (x === null || x === undefined) return ''
  const digits = Math.abs(x) >= 100 ? 0 : Math.abs(x) >= 10 ? 1 : 2
  return `${x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })} ${unit}`
}
const cell = (s) => String(s).replaceAll('|', '\\|')
const targetText = (r) => (r.target === null ? '—' : `${r.targetOp} ${r.target}x`)
const metText = (r) => (r.met === null ? 'info' : r.met ? 'met' : '**missed**')
const tableRows = rows.map(
  (r) =>
    `| ${cell(r.area)} | ${cell(r.benchmark)} | ${cell(num(r.ours, r.unit))} | ${cell(r.anchorName)}: ${cell(num(r.anchor, r.unit))} | **${r.ratio.toFixed(2)}x** | ${targetText(r)} | ${metText(r)} | ${r.issue ?? ''} | ${cell(r.note ?? '')} |`
)
const withTarget = rows.filter((r) => r.met !== null)
const met = withTarget.filter((r) => r.met).length
const anchorLines = REQUIRED_ANCHORS.map(([name, script]) => {
  const measured = rows.some((r) => r.anchorName.includes(name))
  if (measured) return null
  const why = failures.find(([s]) => s === script)
  return `- **${name}**: no figure in this run (${why ? `\`bench/${script}\` ${why[1]}` : only ? 'not selected' : 'no row recorded'}).`
}).filter(Boolean)

const summary = `## Summary: ours vs each anchor, same run

${rows.length} rows; ${withTarget.length} with an issue target: **${met} met, ${withTarget.length - met} missed**.
\`ratio\` is the median over paired rounds of (ours ÷ anchor) for rates, or as the target states it
for times and sizes (\`<=\` rows: lower is better). \`info\` rows have no target in the issues.
Chart: [ratios.svg](ratios.svg).

| area | benchmark | ours | anchor | ratio | target | | issue | note |
|---|---|---|---|---|---|---|---|---|
${tableRows.join('\n')}
${anchorLines.length ? `\nAnchors without a figure:\n${anchorLines.join('\n')}\n` : ''}
@upstash/ratelimit speaks Upstash's REST API over HTTP; here it runs through
\`bench/lib/upstash-rest-proxy.mjs\` (a local node:http server translating to the same local
redis-server), an HTTP hop our client does not pay, so its row is indicative only.
${failures.length ? `\nBenchmarks that failed in this run: ${failures.map(([s, w]) => `\`bench/${s}\` (${w})`).join(', ')}.\n` : ''}`

const versions = ANCHOR_PACKAGES.map((n) => `${n} ${packageVersion(n)}`).join(', ')
const header = `# Benchmark results

Produced by \`pnpm bench${quick || pin ? ` --${quick ? ' --quick' : ''}${pin ? ' --pin' : ''}` : ''}\` (\`bench/run.mjs\`), started ${startedAt.toISOString()}.${quick ? ' **Quick run**: fewer rounds, shorter runs.' : ''}${pin ? ' **Pinned** (`--pin`): the protocol, security-header and observability HTTP benches ran their load generator on CPU 0 and servers on CPU 1; for them, read the capacity (server CPU per request) ratios.' : ''}

**Machine**: ${machine.cores} × ${machine.cpu}, ${machine.memoryGiB} GiB, ${machine.os}; Node ${machine.node}; redis-server ${machine.redis}.
Load average at the start (1, 5, 15 min): ${machine.loadAverage.join(', ')}${Number(machine.loadAverage[0]) > machine.cores * 0.5 ? ' — **a loaded machine: figures are noisy**' : ''}.

**Versions**: ${versions}.

Every figure is a ratio from the same run (paired or interleaved rounds, medians): absolute
numbers on a small, shared machine mean little.
`

writeFileSync(join(here, 'RESULTS.md'), `${header}\n${summary}\n${sections.join('\n')}`)
writeFileSync(
  join(here, 'ratios.svg'),
  renderRatioChart(rows, {
    title: `AI Kit vs anchors — ${startedAt.toISOString().slice(0, 10)}${quick ? ' (quick run)' : ''}`,
  })
)
process.stdout.write(`\nwrote ${join(here, 'RESULTS.md')} and ${join(here, 'ratios.svg')}\n`)
