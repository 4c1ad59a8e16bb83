/**
 * @module checks
 * Built-in readiness checks: `redisCheck(client)` (PING; every master of a Cluster) and
 * `httpCheck(url)` (a dependency or an LLM provider answers at all).
 */
import { InvalidOptionsError } from '@aikit/core'
import { rejectUnknownOptions } from '@aikit/core/adapter'
import { checkCluster, isClusterClient } from './cluster-check.js'
import { validTimeout } from './health-check.js'
import type { CheckDefinition } from './types.js'

/**
 * Checks the options a built-in check puts in its definition, here rather than when `healthCheck`
 * reads it (which names them under the check's name): a wrong type is named where it was written.
 */
function checkDefinitionOptions(options: {
  timeoutMs?: unknown
  critical?: unknown
  cacheMs?: unknown
}): void {
  if (options.timeoutMs !== undefined) validTimeout(options.timeoutMs, 'timeoutMs')
  if (options.critical !== undefined && typeof options.critical !== 'boolean') {
    throw new InvalidOptionsError('critical', 'must be a boolean')
  }
  const { cacheMs } = options
  if (cacheMs !== undefined && (!Number.isInteger(cacheMs) || (cacheMs as number) < 0)) {
    throw new InvalidOptionsError('cacheMs', 'must be an integer >= 0')
  }
}

/** The part of an ioredis `Redis` / `Cluster` (or node-redis client) `redisCheck` uses. */
export interface PingableClient {
  ping(): Promise<unknown>
}

/** Options of `redisCheck`. */
export interface RedisCheckOptions {
  /** Time allowed for the check (PING, or every Cluster master). Default: `healthCheck`'s `timeoutMs`. */
  timeoutMs?: number
  /** Whether a failure fails readiness. Default `true`. */
  critical?: boolean
  /** Reuse the last result for this long (ms). Default `0` (run on every probe). */
  cacheMs?: number
}

/** The keys of `RedisCheckOptions`; any other key is refused. */
const REDIS_CHECK_OPTION_KEYS = [
  'timeoutMs',
  'critical',
  'cacheMs',
] as const satisfies readonly (keyof RedisCheckOptions)[]

/**
 * A readiness check that PINGs Redis. With ioredis, commands issued while it reconnects wait in
 * its offline queue: the check's timeout is what turns that wait into a timely `fail`.
 *
 * An ioredis `Cluster` is checked as a whole: any one node answers PING, even while a master is
 * dead and every key hashed to its slots fails. So every master the client routes slots to is
 * asked `CLUSTER INFO` (over the connection ioredis keeps to it), and the check fails naming the
 * master when one does not answer, reports `cluster_state` other than `ok`, or a slot has no
 * master (see `cluster-check.ts`).
 */
export function redisCheck(
  client: PingableClient,
  options: RedisCheckOptions = {}
): CheckDefinition {
  if (client === null || typeof client !== 'object' || typeof client.ping !== 'function') {
    throw new InvalidOptionsError('client', 'must be a Redis client with ping()')
  }
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionsError('options', 'must be an object')
  }
  rejectUnknownOptions(options, REDIS_CHECK_OPTION_KEYS)
  checkDefinitionOptions(options)
  const def: CheckDefinition = {
    componentType: 'datastore',
    check: async (signal) => {
      if (isClusterClient(client)) return checkCluster(client, signal)
      await client.ping()
      return undefined
    },
  }
  if (options.timeoutMs !== undefined) def.timeoutMs = options.timeoutMs
  if (options.critical !== undefined) def.critical = options.critical
  if (options.cacheMs !== undefined) def.cacheMs = options.cacheMs
  return def
}

/** Options of `httpCheck`. */
export interface HttpCheckOptions {
  /** Request method. Default `'HEAD'`. */
  method?: string
  /**
   * Statuses that count as reachable. Default: any status below 500 (a 401 or 404 from a provider
   * still proves it is reachable, and costs nothing).
   */
  ok?: (status: number) => boolean
  /** Time allowed for the response head. Default: `healthCheck`'s `timeoutMs`. */
  timeoutMs?: number
  /** Whether a failure fails readiness. Default `false`: one provider down should not pull every pod out of service. */
  critical?: boolean
  /** Headers to send. Default none. */
  headers?: Record<string, string>
  /** Reuse the last result for this long (ms): probes come every few seconds. Default `30000`. */
  cacheMs?: number
}

/** The keys of `HttpCheckOptions`; any other key is refused (`headers`' own are header names). */
const HTTP_CHECK_OPTION_KEYS = [
  'method',
  'ok',
  'timeoutMs',
  'critical',
  'headers',
  'cacheMs',
] as const satisfies readonly (keyof HttpCheckOptions)[]

/** An HTTP method is a token (RFC 9110 §9.1). */
const HTTP_TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/

/** A check that a URL answers (a downstream service, an LLM provider's base URL). */
export function httpCheck(url: string | URL, options: HttpCheckOptions = {}): CheckDefinition {
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionsError('options', 'must be an object')
  }
  rejectUnknownOptions(options, HTTP_CHECK_OPTION_KEYS)
  let target: URL
  try {
    target = new URL(url)
  } catch {
    throw new InvalidOptionsError('url', 'must be an absolute http(s) URL')
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:') {
    throw new InvalidOptionsError('url', 'must be an absolute http(s) URL')
  }
  const { method = 'HEAD', ok = (s: number) => s < 500, headers } = options
  if (typeof method !== 'string' || !HTTP_TOKEN.test(method)) {
    throw new InvalidOptionsError('method', "must be an HTTP method name, e.g. 'HEAD' or 'GET'")
  }
  if (typeof ok !== 'function') throw new InvalidOptionsError('ok', 'must be a function')
  if (
    headers !== undefined &&
    (headers === null ||
      typeof headers !== 'object' ||
      Array.isArray(headers) ||
      Object.values(headers).some((v) => typeof v !== 'string'))
  ) {
    throw new InvalidOptionsError('headers', 'must be an object of header values (strings) by name')
  }
  checkDefinitionOptions(options)
  const def: CheckDefinition = {
    componentType: 'component',
    critical: options.critical ?? false,
    cacheMs: options.cacheMs ?? 30_000,
    check: async (signal) => {
      const init: RequestInit = { method, signal, redirect: 'manual' }
      if (headers !== undefined) init.headers = headers
      const res = await fetch(target, init)
      await res.body?.cancel()
      if (!ok(res.status)) return { status: 'fail', output: `HTTP ${res.status}` }
      return undefined
    },
  }
  if (options.timeoutMs !== undefined) def.timeoutMs = options.timeoutMs
  return def
}
