// Secret scanning on adversarial strings: redact() of a string built to make a backtracking regex
// work hard (300 kB of `eyJ`, BEGIN headers without an END line, …) against redact() of a benign
// string of the same length, and promptGuard().checkInput() of an oversized message. The tests
// assert linearity deterministically (packages/security/test/redact-linear.test.ts counts the
// characters the matchers look at); this prints the wall-clock ratios. Before the fix, 300 kB of
// `eyJ` took about 1.5 s (a ratio in the hundreds).
// Run: pnpm --filter @aikit/security build && node bench/security/redact-adversarial.mjs
// SECURITY_MODULE=/path/to/dist/index.js compares another build of @aikit/security.
import { pathToFileURL } from 'node:url'

const { promptGuard, redact } = process.env.SECURITY_MODULE
  ? await import(pathToFileURL(process.env.SECURITY_MODULE).href)
  : await import('@aikit/security')

const ROUNDS = Number(process.env.ROUNDS ?? 5)
const LENGTH = 300_000

const fill = (unit, length = LENGTH) =>
  unit.repeat(Math.ceil(length / unit.length)).slice(0, length)
const seg = (n) => fill('aB3_-', n)

/** [name, adversarial string]; each is compared with benign text of the same length. */
const CASES = [
  ['"eyJ" repeated (jwt)', fill('eyJ')],
  ['eyJ runs ending in a dot (jwt)', fill(`eyJ${seg(5)}.`)],
  ['one 300 kB base64url run with a dot at the end (jwt)', `${fill('eyJ', LENGTH - 8)}.${seg(7)}`],
  ['BEGIN headers without an END line (private-key)', fill('-----BEGIN RSA PRIVATE KEY-----\n')],
  ['"Bearer " repeated (bearer-token)', fill('Bearer ')],
  ['"password=" repeated (credential-param)', fill('password=')],
  ['prefixed names without "=" (credential-prefixed)', fill(' DB_a_b_c_d_e_f_g_h_i_PASSWORD')],
  ['prefixed JSON names, escaped values (credential-prefixed)', fill('_token":"\\')],
  ['"Authorization: " repeated (auth-header)', fill('Authorization: ')],
  ['JSON credential values with escapes (credential-json)', fill('"password":"\\')],
]
const BENIGN = fill('the quick brown fox jumps over the lazy dog, ')

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

function timeMs(fn) {
  const start = process.hrtime.bigint()
  fn()
  return Number(process.hrtime.bigint() - start) / 1e6
}

let sink = 0
for (let i = 0; i < 3; i++) sink += String(redact(BENIGN)).length // warm-up

console.log(`redact() on ${LENGTH / 1000} kB strings, median of ${ROUNDS} rounds`)
console.log(
  `  ${'benign text'.padEnd(56)} ${median(
    Array.from({ length: ROUNDS }, () => timeMs(() => redact(BENIGN)))
  )
    .toFixed(1)
    .padStart(8)} ms`
)
for (const [name, text] of CASES) {
  const attack = []
  const benign = []
  for (let r = 0; r < ROUNDS; r++) {
    attack.push(timeMs(() => (sink += String(redact(text)).length)))
    benign.push(timeMs(() => (sink += String(redact(BENIGN)).length)))
  }
  const ratio = median(attack.map((a, i) => a / benign[i]))
  console.log(
    `  ${name.padEnd(56)} ${median(attack).toFixed(1).padStart(8)} ms   ${ratio.toFixed(2)}x benign`
  )
}

const guard = promptGuard()
const oversized = [{ role: 'user', content: fill('eyJ') }]
const small = [
  { role: 'user', content: 'why does my request to the messages API fail with a 401?' },
]
const guardTimes = []
const smallTimes = []
for (let r = 0; r < ROUNDS; r++) {
  let start = process.hrtime.bigint()
  await guard.checkInput(oversized)
  guardTimes.push(Number(process.hrtime.bigint() - start) / 1e6)
  start = process.hrtime.bigint()
  await guard.checkInput(small)
  smallTimes.push(Number(process.hrtime.bigint() - start) / 1e6)
}
console.log('\npromptGuard().checkInput (refused by input.max-tokens before any scan)')
console.log(`  300 kB message of "eyJ"   ${median(guardTimes).toFixed(2).padStart(8)} ms`)
console.log(`  one-line prompt           ${median(smallTimes).toFixed(2).padStart(8)} ms`)
if (sink < 0) console.log(sink)
