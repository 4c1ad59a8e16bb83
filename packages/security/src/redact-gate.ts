/**
 * @module redact-gate
 * A one-pass character gate in front of the built-in secret patterns: `mayHoldSecret(text)` is
 * false only when no pattern of `SECRET_PATTERNS` can match `text`, so a string it rejects is
 * returned as is without running any regex. Most log strings (URLs, user agents, content types,
 * ids, prose) are rejected here.
 *
 * Why not a regex: every regex call has a fixed cost (~40-80 ns here) and an alternation of the
 * keywords scans at ~2 ns a character; this loop only looks at a handful of trigger characters and
 * checks the few characters around them. Each pattern needs at least one trigger (see
 * `GATED_PATTERN_IDS`):
 * - `-`: `sk-`, `-----BEGIN`, `xox?-`, `pplx-` (all case-sensitive in their regex);
 * - `_`: `sk_`/`rk_` (Stripe), `gh?_` and `github_` (GitHub), `hf_`;
 * - `A` followed by `3`, `K`, `S`, `B`, `C` or `I`: AWS `A3T`/`AKIA`/`ASIA`/`ABIA`/`ACCA`, `ABSK`, `AIza`;
 * - `J` after `ey`: a JWT;
 * - `:`, `=` or an encoded `=` (`%3D`, `%253D`): after up to 4 spaces and an optional `"`, a name ending like one of the credential
 *   names of the auth-header, cookie, credential-param, credential-json and credential-prefixed
 *   patterns (the credential headers' endings come from `SENSITIVE_HEADERS` and the suffix rule);
 *   or `://` followed by an authority holding an `@` (a URL's userinfo);
 * - whitespace (any non-ASCII character counts, since `\s` has Unicode spaces) after `earer`:
 *   a bearer token.
 * The unit tests run every pattern's shapes and a property test compares gated and ungated
 * redaction on adversarial strings, so a new pattern without a trigger fails the build.
 */

import { CREDENTIAL_HEADER_WORDS, SENSITIVE_HEADERS } from './redact-names.js'

/** The built-in patterns this gate is written for, in `SECRET_PATTERNS` order. */
export const GATED_PATTERN_IDS: readonly string[] = [
  'private-key',
  'llm-provider-key',
  'stripe-key',
  'aws-access-key-id',
  'aws-bedrock-key',
  'github-token',
  'huggingface-token',
  'google-api-key',
  'slack-token',
  'perplexity-key',
  'jwt',
  'url-userinfo',
  'auth-header',
  'bearer-token',
  'cookie',
  'credential-param',
  'credential-json',
  'credential-prefixed',
]

const DASH = 45
const UNDERSCORE = 95
const UPPER_A = 65
const UPPER_J = 74
const COLON = 58
const EQUALS = 61
const QUOTE = 34
const APOSTROPHE = 39
const BACKSLASH = 92
const SLASH = 47
const AT = 64
const QUESTION = 63
const HASH = 35
const LESS = 60
const GREATER = 62
const PERCENT = 37

/** ASCII code → 1 when the gate looks at that character (whitespace, `-`, `_`, `A`, `J`, `:`, `=`, `%`). */
const TRIGGER = new Uint8Array(128)
for (const c of [
  9,
  10,
  11,
  12,
  13,
  32,
  DASH,
  UNDERSCORE,
  UPPER_A,
  UPPER_J,
  COLON,
  EQUALS,
  PERCENT,
]) {
  TRIGGER[c] = 1
}

/** Lower-cases an ASCII letter code; other codes are returned as is. */
function lower(c: number): number {
  return c >= 65 && c <= 90 ? c + 32 : c
}

/** Whitespace for `\s` purposes: ASCII spaces, and any non-ASCII character (a superset). */
function spaceLike(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13) || c >= 128
}

const code3 = (s: string): number =>
  (s.charCodeAt(0) << 16) | (s.charCodeAt(1) << 8) | s.charCodeAt(2)

/**
 * Last three letters (lower-case) of every credential name that a `:`/`=` pattern puts before the
 * separator: password, passwd, pwd, pass, passphrase, (client_)secret, (access_/refresh_/id_/auth_/
 * session_/x-auth-/x-csrf-/x-amz-security-)token, session, sessionid, session_id, (x-)api(-/_)key,
 * apikey, key, (access/secret/private)(-/_)key, sig, (x-amz-)signature, (x-amz-)credential,
 * credentials, and every credential header (`SENSITIVE_HEADERS`, and the names ending in `-auth`,
 * `-token`, `-key`, `-secret`, `-password`, `-signature`: `helicone-auth`); any prefix before the
 * names that allow one does not change their last letters.
 */
const NAME_ENDINGS = new Set(
  [
    ...SENSITIVE_HEADERS.map((h) => h.slice(-3)),
    ...CREDENTIAL_HEADER_WORDS.map((w) => w.slice(-3)),
    'ord',
    'swd',
    'pwd',
    'ass',
    'ase',
    'ret',
    'ken',
    'ion',
    'nid',
    '_id',
    'key',
    'sig',
    'ure',
    'ial',
    'als',
    'kie',
  ].map(code3)
)

/**
 * `:` or `=` at `i`: is it preceded by a credential name (then spaces and a closing `"` or `'`
 * allowed, the `"` possibly escaped as in JSON inside a JSON string)?
 */
function credentialBefore(s: string, i: number): boolean {
  let j = i - 1
  for (let n = 0; n < 4 && j >= 0 && spaceLike(s.charCodeAt(j)); n++) j--
  if (j >= 0 && (s.charCodeAt(j) === QUOTE || s.charCodeAt(j) === APOSTROPHE)) {
    j--
    if (j >= 0 && s.charCodeAt(j) === BACKSLASH) j--
  }
  if (j < 2) return false
  const key =
    (lower(s.charCodeAt(j - 2)) << 16) | (lower(s.charCodeAt(j - 1)) << 8) | lower(s.charCodeAt(j))
  return NAME_ENDINGS.has(key)
}

/**
 * `:` at `i`: is it a `://` followed by an `@` within the authority (before a `/`, `?`, `#`, a
 * quote, `<`, `>` or an ASCII space; a Unicode space does not stop it, so the answer stays a
 * superset of the regex's)? The scan stops at the next `/`, so the scans of two `://` never
 * overlap.
 */
function userinfoAfter(s: string, i: number): boolean {
  if (s.charCodeAt(i + 1) !== SLASH || s.charCodeAt(i + 2) !== SLASH) return false
  const n = s.length
  for (let j = i + 3; j < n; j++) {
    const c = s.charCodeAt(j)
    if (c === AT) return true
    if (
      c === SLASH ||
      c === QUESTION ||
      c === HASH ||
      c === QUOTE ||
      c === APOSTROPHE ||
      c === LESS ||
      c === GREATER ||
      c === 32 ||
      (c >= 9 && c <= 13)
    ) {
      return false
    }
  }
  return false
}

/** `%` at `i`: is it an `=` percent-encoded once or twice (`%3D`, `%253D`, any case)? */
function encodedEquals(s: string, i: number): boolean {
  let j = i + 1
  if (s.charCodeAt(j) === 50 /* 2 */ && s.charCodeAt(j + 1) === 53 /* 5 */) j += 2
  return s.charCodeAt(j) === 51 /* 3 */ && lower(s.charCodeAt(j + 1)) === 100 /* d */
}

/** Whitespace at `i`: does `earer` (any case) end just before it? */
function bearerBefore(s: string, i: number): boolean {
  return (
    i >= 5 &&
    lower(s.charCodeAt(i - 1)) === 114 && // r
    lower(s.charCodeAt(i - 2)) === 101 && // e
    lower(s.charCodeAt(i - 3)) === 114 && // r
    lower(s.charCodeAt(i - 4)) === 97 && // a
    lower(s.charCodeAt(i - 5)) === 101 // e
  )
}

/** `-` at `i`: `sk-`, `xox?-`, `pplx-` before it, or `-----BEGIN` from it. */
function dashTrigger(s: string, i: number): boolean {
  const p1 = s.charCodeAt(i - 1) // NaN before the start: compares false
  if (p1 === 107 /* k */ && s.charCodeAt(i - 2) === 115 /* s */) return true
  if (
    s.charCodeAt(i - 4) === 120 /* x */ &&
    s.charCodeAt(i - 3) === 111 &&
    s.charCodeAt(i - 2) === 120
  ) {
    return true // xox?-
  }
  if (p1 === 120 /* x */ && s.startsWith('ppl', i - 4)) return true
  return s.charCodeAt(i + 1) === DASH && s.startsWith('-----BEGIN', i)
}

/** `_` at `i`: `sk_`/`rk_`, `gh?_`, `github_`, `hf_` before it. */
function underscoreTrigger(s: string, i: number): boolean {
  const p1 = s.charCodeAt(i - 1)
  const p2 = s.charCodeAt(i - 2)
  if (p1 === 107 /* k */ && (p2 === 115 /* s */ || p2 === 114) /* r */) return true
  if (p2 === 104 /* h */ && s.charCodeAt(i - 3) === 103 /* g */) return true // gh?_
  if (p1 === 102 /* f */ && p2 === 104 /* h */) return true // hf_
  return p1 === 98 /* b */ && s.startsWith('github', i - 6)
}

/** `A` at `i`: `A3T`, `AKIA`, `ASIA`, `ABIA`, `ACCA`, `ABSK`, `AIza` start with `A3`/`AK`/`AS`/`AB`/`AC`/`AI`. */
function upperATrigger(s: string, i: number): boolean {
  const n = s.charCodeAt(i + 1)
  return n === 51 || n === 75 || n === 83 || n === 66 || n === 67 || n === 73
}

/**
 * False only when no built-in secret pattern can match `text` (see the module comment for the
 * triggers). Cost: one table look-up per character, a few comparisons per trigger.
 */
export function mayHoldSecret(text: string): boolean {
  const n = text.length
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i)
    if (c > UNDERSCORE && c < 128) continue // a-z and `{|}~: the most common, never a trigger
    if (c < 128) {
      if (TRIGGER[c] === 0) continue
      switch (c) {
        case DASH:
          if (dashTrigger(text, i)) return true
          break
        case UNDERSCORE:
          if (underscoreTrigger(text, i)) return true
          break
        case UPPER_A:
          if (upperATrigger(text, i)) return true
          break
        case UPPER_J:
          if (text.charCodeAt(i - 1) === 121 && text.charCodeAt(i - 2) === 101) return true // eyJ
          break
        case COLON:
          if (credentialBefore(text, i) || userinfoAfter(text, i)) return true
          break
        case EQUALS:
          if (credentialBefore(text, i)) return true
          break
        case PERCENT:
          if (encodedEquals(text, i) && credentialBefore(text, i)) return true
          break
        default: // ASCII whitespace
          if (bearerBefore(text, i)) return true
      }
    } else if (bearerBefore(text, i)) {
      return true // a non-ASCII character may be a Unicode space after `bearer`
    }
  }
  return false
}
