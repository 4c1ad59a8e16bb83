/**
 * @module redis-probe
 * One bounded connection to the Redis that `REDIS_URL` names: does it answer, which server is it,
 * and the settings the kit depends on. Uses the app's own ioredis. Only that URL is contacted (a
 * plain client: no Cluster redirects, no Sentinel), there are no retries or reconnects, and
 * everything is over within the timeout. Nothing it returns holds text from the URL or from an error
 * message, so a password cannot leak through it.
 */
import { createRequire } from 'node:module'
import { join } from 'node:path'
import type { Redis, RedisOptions } from 'ioredis'
import { acceptsAnyPassword } from './redis-auth.js'
import { probeUrl } from './redis-url.js'

type RedisClass = new (url: string, options: RedisOptions) => Redis

/**
 * ioredis as the app resolves it (from `cwd`), else as this package does. A CLI run with npx may sit
 * outside the app's node_modules, while the app that uses `REDIS_URL` has ioredis installed.
 */
export function loadRedis(cwd: string): RedisClass | undefined {
  for (const from of [join(cwd, 'package.json'), import.meta.url]) {
    try {
      const mod = createRequire(from)('ioredis') as { Redis?: RedisClass; default?: RedisClass }
      const Class = mod.Redis ?? mod.default
      if (typeof Class === 'function') return Class
    } catch {
      // Not resolvable from there: try the next place.
    }
  }
  return undefined
}

/** Why a connection failed, as the doctor reports it. */
export type RedisFailure =
  | 'unreadable URL'
  | 'bad database'
  | 'database refused'
  | 'refused'
  | 'timeout'
  | 'host not found'
  | 'password refused'
  | 'password required'
  | 'TLS failed'
  | 'connection closed'
  | 'error'

/** What the probe found. */
export type RedisProbe =
  | {
      readonly reachable: true
      /** e.g. `Redis 7.0.15`, `Valkey 8.0.1`; undefined when INFO is not allowed. */
      readonly server: string | undefined
      /** Bytes; 0 when unlimited, undefined when unknown. */
      readonly maxmemory: number | undefined
      readonly maxmemoryPolicy: string | undefined
      readonly cluster: boolean | undefined
      /**
       * True when REDIS_URL gives a password and the server's user takes any (`nopass`);
       * undefined when the URL gives none or the server does not say.
       */
      readonly acceptsAnyPassword: boolean | undefined
    }
  | {
      readonly reachable: false
      readonly failure: RedisFailure
      /** A system or Redis error code (`ECONNRESET`, `NOPERM`), never a message. */
      readonly code: string | undefined
    }

const TLS_CODE = /^(?:ERR_TLS_|ERR_SSL_|CERT_|DEPTH_ZERO_|SELF_SIGNED_|UNABLE_TO_)/

/** Reads the cause from an error's code and its leading Redis error word; never keeps its text. */
function classify(error: unknown): { failure: RedisFailure; code: string | undefined } {
  const e = (typeof error === 'object' && error !== null ? error : {}) as {
    code?: unknown
    message?: unknown
  }
  const code = typeof e.code === 'string' && /^[A-Z][A-Z0-9_]*$/.test(e.code) ? e.code : undefined
  const message = typeof e.message === 'string' ? e.message : ''
  // A Redis error starts with its code in capitals (`WRONGPASS invalid username-password pair`).
  const word = /^[A-Z][A-Z0-9_]*(?=\s|$)/.exec(message)?.[0]
  if (isSelectError(error))
    return { failure: 'database refused', code: word === 'ERR' ? undefined : word }
  if (code === 'ECONNREFUSED') return { failure: 'refused', code }
  if (code === 'ETIMEDOUT') return { failure: 'timeout', code }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return { failure: 'host not found', code }
  if (code !== undefined && TLS_CODE.test(code)) return { failure: 'TLS failed', code }
  if (word === 'WRONGPASS' || /^ERR invalid (?:username-)?password/.test(message)) {
    return { failure: 'password refused', code: word }
  }
  if (word === 'NOAUTH') return { failure: 'password required', code: word }
  if (code === 'ECONNRESET' || code === 'EPIPE' || message === 'Connection is closed.') {
    return { failure: 'connection closed', code }
  }
  return { failure: 'error', code: code ?? (word === 'ERR' ? undefined : word) }
}

/** ioredis reports a refused `SELECT <db>` of the handshake as an error carrying the command. */
function isSelectError(error: unknown): boolean {
  const command = (error as { command?: { name?: unknown } } | null | undefined)?.command
  return typeof command === 'object' && command !== null && command.name === 'select'
}

/** `key:value` lines of an INFO reply. */
function parseInfo(text: string): Map<string, string> {
  const fields = new Map<string, string>()
  for (const line of text.split(/\r?\n/)) {
    const at = line.indexOf(':')
    if (at > 0 && !line.startsWith('#')) fields.set(line.slice(0, at), line.slice(at + 1).trim())
  }
  return fields
}

function serverName(info: Map<string, string>): string | undefined {
  const valkey = info.get('valkey_version')
  if (valkey !== undefined) return `Valkey ${valkey}`
  const dragonfly = info.get('dragonfly_version')
  if (dragonfly !== undefined) return `Dragonfly ${dragonfly}`
  const redis = info.get('redis_version')
  return redis === undefined ? undefined : `Redis ${redis}`
}

class Deadline extends Error {
  override readonly name = 'Deadline'
  readonly code = 'ETIMEDOUT'
}

/**
 * Connects to `url` with `Redis`, reads INFO (server, memory, cluster) and disconnects, all within
 * `timeoutMs`. Never rejects.
 */
export async function probeRedis(
  Redis: RedisClass,
  url: string,
  timeoutMs: number
): Promise<RedisProbe> {
  let client: Redis
  try {
    client = new Redis(probeUrl(url), {
      lazyConnect: true,
      connectTimeout: timeoutMs,
      commandTimeout: timeoutMs,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      reconnectOnError: () => false,
      enableOfflineQueue: false,
      // The probe reads INFO itself; the ready check would wait out a server still loading its data.
      enableReadyCheck: false,
      // How long a closing connection may wait for the server's goodbye before it is destroyed.
      disconnectTimeout: timeoutMs,
    })
  } catch (error) {
    // ioredis parses the URL in its constructor, so `new Redis(REDIS_URL)` throws in the app too.
    // Its message may quote the URL (Node's ERR_INVALID_URL keeps it in `input`): only the code.
    return { reachable: false, failure: 'unreadable URL', code: classify(error).code }
  }
  // ioredis reads the path with parseInt: `/abc` is NaN, which it then sends as SELECT NaN on
  // every command, outside any promise the probe holds.
  const db = client.options.db ?? 0
  if (!Number.isInteger(db) || db < 0) {
    client.disconnect()
    return { reachable: false, failure: 'bad database', code: undefined }
  }
  // A failed connect rejects with a bare "Connection is closed."; the cause (ECONNREFUSED,
  // WRONGPASS...) comes as an 'error' event, which must be listened to anyway (unhandled, it throws).
  // So does a refused SELECT, on a connection that goes on as if on database 0.
  let cause: unknown
  client.on('error', (error: unknown) => {
    cause ??= error
  })
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Deadline()), timeoutMs)
  })
  const givesPassword =
    typeof client.options.password === 'string' && client.options.password !== ''
  try {
    return await Promise.race([deadline, inspect(client, () => cause, givesPassword)])
  } catch (error) {
    return { reachable: false, ...classify(error instanceof Deadline ? error : (cause ?? error)) }
  } finally {
    clearTimeout(timer)
    client.disconnect()
  }
}

async function inspect(
  client: Redis,
  cause: () => unknown,
  givesPassword: boolean
): Promise<RedisProbe> {
  await client.connect()
  const early = cause()
  if (isSelectError(early)) throw early
  // PING proves the password (AUTH is sent first, on the same connection).
  await client.ping()
  let info: Map<string, string>
  try {
    const sections = await Promise.all(['server', 'memory', 'cluster'].map((s) => client.info(s)))
    info = parseInfo(sections.join('\n'))
  } catch (error) {
    // An ACL user may be denied INFO: reachable, settings unknown.
    if (classify(error).code !== 'NOPERM') throw error
    info = new Map()
  }
  const maxmemory = info.get('maxmemory')
  const cluster = info.get('cluster_enabled')
  return {
    reachable: true,
    server: serverName(info),
    maxmemory: maxmemory === undefined ? undefined : Number(maxmemory),
    maxmemoryPolicy: info.get('maxmemory_policy'),
    cluster: cluster === undefined ? undefined : cluster === '1',
    acceptsAnyPassword: givesPassword ? await acceptsAnyPassword(client) : undefined,
  }
}
