/**
 * @module redact-commands
 * Credentials among a Redis command's arguments. ioredis rejects a failed command with a
 * `ReplyError` whose enumerable `command` is `{ name, args }`: on a wrong password that is
 * `{ name: 'hello', args: ['3', 'AUTH', 'default', '<password>'] }` (or `auth`), which a logger
 * writes out with the error. Those arguments are censored in the walked `args`.
 */
import type { PathNode } from './redact-paths.js'
import type { RedactWalker } from './redact-walker.js'

const upper = (arg: unknown): string | undefined =>
  typeof arg === 'string' && arg.length <= 16 ? arg.toUpperCase() : undefined

/** `CONFIG SET` parameters holding a password. */
const SECRET_CONFIG = new Set(['REQUIREPASS', 'MASTERAUTH'])

/** `SENTINEL SET <master>` options holding a password. */
const SECRET_SENTINEL_OPTIONS = new Set(['AUTH-PASS'])

/** `SENTINEL CONFIG SET` parameters holding a password. */
const SECRET_SENTINEL_CONFIG = new Set(['SENTINEL-PASS'])

/**
 * Whether argument `i` of the Redis command `name` holds a credential: every argument of `AUTH`;
 * those after the `AUTH` / `AUTH2` token of `HELLO` and `MIGRATE`; the value after `requirepass` /
 * `masterauth` in `CONFIG SET`; the value after `auth-pass` in `SENTINEL SET <master>` and after
 * `sentinel-pass` in `SENTINEL CONFIG SET`; the `>password` / `#hash` rules of `ACL SETUSER`. Returns
 * undefined for a command without credentials, else the predicate.
 */
export function secretArgs(
  name: string,
  args: readonly unknown[]
): ((i: number) => boolean) | undefined {
  if (name.length > 8) return undefined
  switch (name.toLowerCase()) {
    case 'auth':
      return () => true
    case 'hello':
    case 'migrate': {
      const at = args.findIndex((a) => {
        const u = upper(a)
        return u === 'AUTH' || u === 'AUTH2'
      })
      return at === -1 ? undefined : (i) => i > at
    }
    case 'config':
      if (upper(args[0]) !== 'SET') return undefined
      return (i) => i > 1 && SECRET_CONFIG.has(upper(args[i - 1]) ?? '')
    case 'sentinel': {
      const sub = upper(args[0])
      if (sub === 'SET')
        return (i) => i > 2 && SECRET_SENTINEL_OPTIONS.has(upper(args[i - 1]) ?? '')
      if (sub === 'CONFIG' && upper(args[1]) === 'SET') {
        return (i) => i > 2 && SECRET_SENTINEL_CONFIG.has(upper(args[i - 1]) ?? '')
      }
      return undefined
    }
    case 'acl':
      if (upper(args[0]) !== 'SETUSER') return undefined
      return (i) => {
        const a = args[i]
        return i > 1 && typeof a === 'string' && /^[<>#!]/.test(a)
      }
    default:
      return undefined
  }
}

/** `args` of a `{ name, args }` command (ioredis) `obj` walked, with its credentials censored. */
export function walkCommandArgs(
  w: RedactWalker,
  obj: object,
  args: unknown[],
  depth: number,
  nodes: PathNode[] | undefined
): unknown {
  const walked = w.walk(args, depth + 1, nodes)
  const name = (obj as { name?: unknown }).name
  const secret = typeof name === 'string' ? secretArgs(name, args) : undefined
  if (secret === undefined || !Array.isArray(walked)) return walked
  let copy: unknown[] | undefined
  for (let i = 0; i < walked.length; i++) {
    if (!secret(i) || walked[i] === w.censor) continue
    copy ??= walked === args ? walked.slice() : walked
    copy[i] = w.censor
  }
  return copy ?? walked
}
