/**
 * @module redis/evalsha
 * EVALSHA without ioredis' per-command `args.flat()`. ioredis (5 and 6) builds each command with
 * `new Command(name, args)`, whose constructor flattens the argument list. On Node 20
 * `Array.prototype.flat` costs ~85 ns per element (1.9 µs for the 22 arguments of a batch of five
 * rate-limit checks; 0.4 µs on Node 24), paid on every script call: 8% of the client's CPU in
 * rate-limit checks at concurrency 16 (profiled).
 *
 * For a client of the ioredis copy this package resolves (an instance of its `Redis` or
 * `Cluster`) whose `evalsha` is ioredis' own (not patched on the instance or overridden in a
 * subclass), and none of the options that method reads is set (a key prefix, auto-pipelining,
 * friendly error stacks), the command is built from an empty list, then given its arguments
 * (already flat strings: `encodeArgs` checks them) and sent with the client's own `sendCommand`:
 * the same command `client.evalsha(...)` sends, on the wire and for anything hooking
 * `sendCommand` (tracing instrumentation; a Cluster still finds the slot from the command's keys).
 * Any other client (another copy of ioredis, a wrapper) gets `client.evalsha(...)`, as do the
 * calls made before ioredis finished loading (it is an optional peer dependency, loaded on the
 * first script call rather than imported by this module).
 */

/** What the fast path uses of ioredis' `Command`. */
interface IoredisCommand {
  args: unknown[]
}

type CommandClass = new (
  name: string,
  args: unknown[],
  options: { readonly replyEncoding: string }
) => IoredisCommand

interface MaybeIoredis {
  evalsha(sha: string, numkeys: number, ...args: string[]): Promise<unknown>
  sendCommand?: (command: IoredisCommand) => Promise<unknown>
  options?: {
    keyPrefix?: unknown
    enableAutoPipelining?: unknown
    showFriendlyErrorStack?: unknown
  }
}

type AnyClass = abstract new (...args: never[]) => unknown

interface Ioredis {
  readonly Redis: AnyClass
  readonly Cluster: AnyClass
  readonly Command: CommandClass
  /** ioredis' own `evalsha` (from the command mixin `Redis` and `Cluster` share). */
  readonly evalsha: unknown
}

/** undefined: not loaded yet (or loading); null: not available (no fast path). */
let ioredis: Ioredis | null | undefined
let loading = false

function load(): void {
  loading = true
  import('ioredis').then(
    (mod) => {
      type Exports = { Redis?: unknown; Cluster?: unknown; Command?: unknown }
      // A bundler's namespace for ioredis (webpack, e.g. a Next.js proxy.ts bundle) may hold only
      // `default`: ioredis' `module.exports` is the Redis class, carrying the named exports.
      const named = mod as Exports & { default?: Exports }
      const m = named.Redis === undefined && named.default != null ? named.default : named
      const evalshaOf = (klass: unknown): unknown =>
        typeof klass === 'function'
          ? (klass as { prototype?: { evalsha?: unknown } }).prototype?.evalsha
          : undefined
      const own = evalshaOf(m.Redis)
      ioredis =
        typeof m.Redis === 'function' &&
        typeof m.Cluster === 'function' &&
        typeof m.Command === 'function' &&
        typeof own === 'function' &&
        evalshaOf(m.Cluster) === own
          ? {
              Redis: m.Redis as AnyClass,
              Cluster: m.Cluster as AnyClass,
              Command: m.Command as CommandClass,
              evalsha: own,
            }
          : null
    },
    () => {
      ioredis = null
    }
  )
}

const NO_ARGS: never[] = []
/** What ioredis' `evalsha` passes (its reply decoded as UTF-8 strings). */
const UTF8 = { replyEncoding: 'utf8' } as const

/** `client.evalsha(sha, keys.length, ...keys, ...argv)`, built without `args.flat()` where it can. */
export function evalsha(
  client: MaybeIoredis,
  sha: string,
  keys: readonly string[],
  argv: readonly string[]
): Promise<unknown> {
  const io = ioredis
  if (io === undefined && !loading) load()
  const options = client.options
  if (
    io === undefined ||
    io === null ||
    !(client instanceof io.Redis || client instanceof io.Cluster) ||
    client.evalsha !== io.evalsha ||
    typeof client.sendCommand !== 'function' ||
    options === undefined ||
    options.keyPrefix ||
    options.enableAutoPipelining ||
    options.showFriendlyErrorStack
  ) {
    return client.evalsha(sha, keys.length, ...keys, ...argv)
  }
  const command = new io.Command('evalsha', NO_ARGS, UTF8)
  const args: string[] = [sha, String(keys.length)]
  for (const key of keys) args.push(key)
  for (const arg of argv) args.push(arg)
  command.args = args
  return client.sendCommand(command)
}
