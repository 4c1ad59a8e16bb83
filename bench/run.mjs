// Runs every package benchmark in one go and writes bench/RESULTS.md: the machine and versions,
// then each benchmark's own report (ratios against its anchors, measured in the same run).
// Usage: pnpm bench [-- --quick]   (`--quick` passes fewer rounds / shorter runs to each bench)
//
// Run it on a quiet machine: every figure is a ratio of paired rounds, but two cores shared with
// other work still move them.
import { spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const quick = process.argv.includes('--quick')
const http = quick ? ['--seconds', '2', '--rounds', '3'] : ['--seconds', '3', '--rounds', '5']
const micro = quick ? ['--rounds', '3'] : ['--rounds', '5']

/** [title, script, args] in the order of the issues. */
const BENCHES = [
  ['Protocol: 5 no-op middleware vs the bare framework (issue 2)', 'protocol/run.mjs', http],
  ['Protocol: compose in process vs koa-compose', 'protocol/compose.mjs', []],
  ['Rate limiting vs rate-limiter-flexible (issue 3)', 'ratelimit/run.mjs', micro],
  ['Security headers vs helmet / @fastify/helmet (issue 5)', 'security/headers.mjs', http],
  ['Redaction vs pino (issue 5)', 'security/redact.mjs', micro],
  ['HTTP metrics and logs vs fastify-metrics (issue 6)', 'observability/run.mjs', http],
  ['Scrape time vs prom-client (issue 6)', 'observability/scrape.mjs', []],
  ['Budgets and token estimates (issue 7)', 'cost/run.mjs', micro],
  ['Compression vs compression / @fastify/compress (issue 11)', 'extras/compress.mjs', http],
  ['Cache vs bentocache / cache-manager / lru-cache (issue 4)', 'cache/run.mjs', micro],
  ['LLM client wrapper overhead (issue 8)', 'llm/run.mjs', []],
]

const versions = (() => {
  const pkg = (name) => {
    try {
      return JSON.parse(readFileSync(join(here, 'node_modules', name, 'package.json'), 'utf8'))
        .version
    } catch {
      return 'n/a'
    }
  }
  return [
    'fastify',
    'express',
    'rate-limiter-flexible',
    'helmet',
    '@fastify/helmet',
    'pino',
    'prom-client',
    'fastify-metrics',
    'compression',
    '@fastify/compress',
    'bentocache',
    'cache-manager',
    'autocannon',
  ]
    .map((n) => `${n} ${pkg(n)}`)
    .join(', ')
})()

const build = spawnSync('pnpm', ['turbo', 'run', 'build', '--output-logs=errors-only'], {
  cwd: join(here, '..'),
  stdio: 'inherit',
})
if (build.status !== 0) process.exit(build.status ?? 1)

const sections = []
for (const [title, script, args] of BENCHES) {
  const path = join(here, script)
  try {
    readFileSync(path)
  } catch {
    sections.push(`## ${title}\n\n(not present: \`bench/${script}\`)\n`)
    continue
  }
  process.stdout.write(`\n=== ${title}: node bench/${script} ${args.join(' ')}\n`)
  const started = Date.now()
  const run = spawnSync(process.execPath, [path, ...args], {
    cwd: join(here, '..'),
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
    timeout: 15 * 60_000,
  })
  const out = `${run.stdout ?? ''}${run.status === 0 ? '' : `\n[exit ${run.status}] ${run.stderr ?? ''}`}`
  process.stdout.write(out)
  sections.push(
    `## ${title}\n\n\`node bench/${script} ${args.join(' ')}\` (${Math.round((Date.now() - started) / 1000)} s)\n\n\`\`\`\n${out.trim()}\n\`\`\`\n`
  )
}

const header = `# Benchmark results

Produced by \`pnpm bench\` (\`bench/run.mjs\`) on ${new Date().toISOString()}.
Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB; Node ${process.version}.
Anchors: ${versions}.

Every figure is a ratio from the same run (paired or interleaved rounds, medians): absolute
numbers on this small, shared machine mean little. Each section is the benchmark's own report.
`
writeFileSync(join(here, 'RESULTS.md'), `${header}\n${sections.join('\n')}`)
process.stdout.write(`\nwrote ${join(here, 'RESULTS.md')}\n`)
