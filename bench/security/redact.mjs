// redact() vs pino's redaction (@pinojs/redact, what pino 10 uses) on a typical request log line.
// Both sides produce the redacted JSON line: ours is JSON.stringify(redact(obj)); pino's is its
// redactor with the equivalent paths and its default serializer. Also run through pino itself,
// writing to a null destination: pino({ redact }) vs pino() + our redact(). Paired, interleaved
// rounds; medians of per-round ratios. Run: pnpm --filter @aikit/security build && node bench/security/redact.mjs
import { createRequire } from 'node:module'
import { Writable } from 'node:stream'
import { createRedactor, redact } from '@aikit/security'
import pino from 'pino'
import { record } from '../lib/results.mjs'
import { ANTHROPIC_KEY, logObject, PINO_PATHS } from './redact-fixture.mjs'

const require = createRequire(createRequire(import.meta.url).resolve('pino'))
const pinoRedact = require('@pinojs/redact')

const roundsArg = process.argv.indexOf('--rounds')
const ROUNDS = Number(roundsArg === -1 ? (process.env.ROUNDS ?? 15) : process.argv[roundsArg + 1])
const ITERATIONS = Number(process.env.ITERATIONS ?? 20000)

// Half the lines carry the key inside a body string (only value scanning catches it), half do not.
const withSecret = Array.from({ length: 256 }, (_, i) => logObject(i, true))
const withoutSecret = Array.from({ length: 256 }, (_, i) => logObject(i, false))
const pinoRedactor = pinoRedact({ paths: PINO_PATHS, censor: '[redacted]' })
const ourPaths = createRedactor({ paths: PINO_PATHS, keys: false, patterns: false })

let sink = 0
const nullDest = new Writable({
  write(chunk, _enc, cb) {
    sink += chunk.length
    cb()
  },
})
nullDest.write = (chunk) => {
  sink += chunk.length
  return true
}
const pinoWithRedact = pino({ redact: { paths: PINO_PATHS, censor: '[redacted]' } }, nullDest)
const pinoPlain = pino({}, nullDest)

const contenders = {
  'JSON.stringify only (no redaction)': (o) => JSON.stringify(o),
  '@pinojs/redact (paths)': (o) => pinoRedactor(o),
  'ours: redact() default (keys + value patterns)': (o) => JSON.stringify(redact(o)),
  'ours: paths only (same work as pino)': (o) => JSON.stringify(ourPaths(o)),
  'pino({ redact }) → null dest': (o) => pinoWithRedact.info(o),
  'pino() + ours redact() → null dest': (o) => pinoPlain.info(redact(o)),
}

function run(fn, objects) {
  const start = process.hrtime.bigint()
  for (let i = 0; i < ITERATIONS; i++) {
    const r = fn(objects[i & 255])
    if (typeof r === 'string') sink += r.length
  }
  return Number(process.hrtime.bigint() - start) / ITERATIONS // ns per op
}

// Correctness first: what each leaves in the output.
const leakOf = (line) => (line.includes(ANTHROPIC_KEY) ? 'LEAKS the key' : 'no key')
console.log('output check:')
console.log(`  @pinojs/redact: ${leakOf(pinoRedactor(logObject(0)))}`)
console.log(`  ours redact():  ${leakOf(JSON.stringify(redact(logObject(0))))}`)

const names = Object.keys(contenders)
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

for (const [label, objects] of [
  ['log line with an API key inside a body string', withSecret],
  ['log line with secrets only under sensitive keys', withoutSecret],
]) {
  for (const n of names) run(contenders[n], objects) // warm-up
  const samples = Object.fromEntries(names.map((n) => [n, []]))
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? names : [...names].reverse()
    for (const n of order) samples[n].push(run(contenders[n], objects))
  }
  const ratio = (ours, theirs) => median(samples[ours].map((x, i) => samples[theirs][i] / x))

  console.log(`\n== ${label}: ${ROUNDS} paired rounds × ${ITERATIONS} ops, median ns/op`)
  for (const n of names) {
    console.log(`  ${n.padEnd(48)} ${median(samples[n]).toFixed(0).padStart(7)} ns`)
  }
  console.log('  ratios (ours ÷ pino in speed; >= 1.00x means ours is at least as fast):')
  console.log(
    `    redact() default vs @pinojs/redact:      ${ratio('ours: redact() default (keys + value patterns)', '@pinojs/redact (paths)').toFixed(2)}x`
  )
  console.log(
    `    paths only vs @pinojs/redact:            ${ratio('ours: paths only (same work as pino)', '@pinojs/redact (paths)').toFixed(2)}x`
  )
  console.log(
    `    pino()+redact() vs pino({ redact }):     ${ratio('pino() + ours redact() → null dest', 'pino({ redact }) → null dest').toFixed(2)}x`
  )
  const ours = 'ours: redact() default (keys + value patterns)'
  const theirs = '@pinojs/redact (paths)'
  record({
    area: 'security',
    benchmark: `redact(), ${label}`,
    ours: 1e9 / median(samples[ours]),
    anchor: 1e9 / median(samples[theirs]),
    anchorName: "pino's redaction (@pinojs/redact)",
    unit: 'lines/s',
    ratio: ratio(ours, theirs),
    target: 1,
    issue: '5',
    note: 'ours also scans string values; theirs leaks a key inside a string',
  })
}
// A Buffer in a log object is decoded and scanned when it holds UTF-8 text (a key in a request
// body a client error carries). What that costs against what a JSON logger already spends on the
// same Buffer (JSON.stringify writes every byte as a number), for bytes that are not text, bytes
// that decode (zeros) and text: information only, no target.
{
  const { randomBytes } = await import('node:crypto')
  const SIZE = 4 << 20
  const buffers = [
    ['random bytes (not UTF-8)', randomBytes(SIZE)],
    ['zeros (valid UTF-8)', Buffer.alloc(SIZE)],
    [
      'JSON text',
      Buffer.from(JSON.stringify(logObject(0, false)).repeat(SIZE / 1024)).subarray(0, SIZE),
    ],
  ]
  const time = (fn) => {
    const start = process.hrtime.bigint()
    fn()
    return Number(process.hrtime.bigint() - start)
  }
  console.log(
    '\n== redact() of a 4 MB Buffer ÷ JSON.stringify of it (median of 3; < 1 costs less than the logger)'
  )
  for (const [label, buffer] of buffers) {
    const log = { body: buffer }
    const ratios = []
    for (let r = 0; r < 3; r++) {
      const ours = time(() => redact(log))
      const json = time(() => {
        sink += JSON.stringify(log).length
      })
      ratios.push(ours / json)
    }
    console.log(`  ${label.padEnd(28)} ${median(ratios).toFixed(3)}`)
  }
}
if (sink < 0) console.log(sink)
