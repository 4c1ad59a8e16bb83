/**
 * @module checks/redis-server
 * The Redis that `REDIS_URL` names, connected to: does it answer, and are its settings ones the kit
 * can keep state in. The only check that leaves the machine (`runDoctorOnline`).
 */
import { loadRedis, probeRedis, type RedisProbe } from '../redis-probe.js'
import type { DoctorItem, Facts } from '../types.js'
import { fail, failInProduction, pass, warn } from './item.js'
import { storeOf } from './redis.js'

const ID = 'redis-server'
const TITLE = 'Redis server (connected)'
const OFFLINE = 'run with --offline where Redis is not reachable by design'

export interface RedisServerCheckOptions {
  /** Where the app's ioredis is looked for. */
  readonly cwd: string
  /** Connect, AUTH and INFO together, in ms. */
  readonly timeoutMs: number
}

export async function redisServerCheck(
  facts: Facts,
  options: RedisServerCheckOptions
): Promise<DoctorItem> {
  const raw = facts.env.REDIS_URL
  if (raw === undefined) return pass(ID, TITLE, 'no REDIS_URL')
  const protocol = URL.canParse(raw) ? new URL(raw).protocol : undefined
  if (protocol !== 'redis:' && protocol !== 'rediss:') {
    return warn(
      ID,
      TITLE,
      'not checked: REDIS_URL is not a redis:// or rediss:// URL',
      'fix REDIS_URL (see the env and redis-security items)'
    )
  }
  // ioredis (4 to 6) turns TLS on when the URL starts with `rediss://` exactly; the URL parser,
  // and so the redis-security item, read `REDISS://` as TLS too. The app would send the password
  // in the clear, or fail against a TLS-only server: say why before connecting.
  if (protocol === 'rediss:' && !raw.startsWith('rediss://')) {
    return failInProduction(
      facts,
      ID,
      TITLE,
      'ioredis turns TLS on only for a lower-case rediss://: this REDIS_URL connects without TLS',
      'write the scheme in lower case: rediss://'
    )
  }
  const Redis = loadRedis(options.cwd)
  if (Redis === undefined) {
    return warn(
      ID,
      TITLE,
      'not checked: ioredis is not installed (neither in the app nor beside the doctor)',
      `install ioredis in the app, or ${OFFLINE}`
    )
  }
  const probe = await probeRedis(Redis, raw, options.timeoutMs)
  return probe.reachable ? settingsItem(facts, probe) : unreachableItem(facts, probe, options)
}

function unreachableItem(
  facts: Facts,
  probe: Extract<RedisProbe, { reachable: false }>,
  options: RedisServerCheckOptions
): DoctorItem {
  const code = probe.code === undefined ? '' : ` (${probe.code})`
  switch (probe.failure) {
    // A URL ioredis cannot read, wrong credentials or a wrong database are wrong wherever the
    // doctor runs: the app fails the same way.
    case 'unreadable URL':
      return fail(
        ID,
        TITLE,
        'ioredis cannot read REDIS_URL (new Redis(REDIS_URL) throws): the app fails the same way at startup',
        'write REDIS_URL as redis[s]://[<user>]:<password>@<host>:<port>[/<db>], percent-encoding the user and password (a % as %25)'
      )
    case 'bad database':
      return fail(
        ID,
        TITLE,
        "REDIS_URL's path is not a database number",
        'end REDIS_URL with /<db> (a number, usually /0) or with nothing'
      )
    case 'database refused':
      return fail(
        ID,
        TITLE,
        `Redis refused the database number in REDIS_URL's path${code}`,
        'use a database the server has (0 to its `databases` setting minus 1; Redis Cluster has only 0)'
      )
    case 'password refused':
      return fail(
        ID,
        TITLE,
        `Redis refused the user or password in REDIS_URL${code}`,
        'set the password (and ACL user) the server expects in REDIS_URL'
      )
    case 'password required':
      return fail(
        ID,
        TITLE,
        `Redis requires a password that REDIS_URL does not give${code}`,
        'put the password in REDIS_URL: rediss://<user>:<password>@<host>:<port>'
      )
    case 'refused':
      return failInProduction(
        facts,
        ID,
        TITLE,
        `cannot connect to REDIS_URL: connection refused${code}, nothing listens there`,
        `start Redis or fix the host and port in REDIS_URL; ${OFFLINE}`
      )
    case 'timeout':
      return failInProduction(
        facts,
        ID,
        TITLE,
        `no answer from REDIS_URL within ${options.timeoutMs} ms${code}`,
        `check the host, port and firewall (with rediss:// the server must speak TLS); ${OFFLINE}`
      )
    case 'host not found':
      return failInProduction(
        facts,
        ID,
        TITLE,
        `REDIS_URL's host name does not resolve${code}`,
        `fix the host in REDIS_URL; ${OFFLINE}`
      )
    case 'TLS failed':
      return failInProduction(
        facts,
        ID,
        TITLE,
        `TLS with REDIS_URL's server failed${code}`,
        'use rediss:// only for a TLS server, with a certificate this machine trusts'
      )
    case 'connection closed':
      return failInProduction(
        facts,
        ID,
        TITLE,
        `REDIS_URL's server closed the connection${code}`,
        'for a TLS-only server use rediss://; otherwise see the server log'
      )
    default:
      return failInProduction(
        facts,
        ID,
        TITLE,
        `cannot use REDIS_URL${code || ' (unknown error)'}`,
        `check REDIS_URL and the server; ${OFFLINE}`
      )
  }
}

/**
 * Whether this Redis may hold rate-limit or budget state: a section says `store: 'redis'`, or no
 * configuration was given (then nothing says otherwise).
 */
function holdsState(facts: Facts): boolean {
  if (!facts.configGiven) return true
  return storeOf(facts, 'rateLimit') === 'redis' || storeOf(facts, 'budget') === 'redis'
}

function settingsItem(facts: Facts, probe: Extract<RedisProbe, { reachable: true }>): DoctorItem {
  const found = `${probe.server ?? 'the server'} reachable`
  const details: string[] = []
  const fixes: string[] = []
  const policy = probe.maxmemoryPolicy
  // Every key the kit writes for a rate limit or a budget has a TTL, so `volatile-*` policies
  // evict them as readily as `allkeys-*` (`volatile-ttl` first of all: theirs are short). A counter
  // or a spend total evicted starts over at zero: the limit or the budget silently resets.
  if (
    policy !== undefined &&
    policy !== 'noeviction' &&
    (probe.maxmemory ?? 0) > 0 &&
    holdsState(facts)
  ) {
    details.push(
      `maxmemory-policy ${policy} with maxmemory set: a full Redis evicts rate-limit counters and budget spend (they carry a TTL), so limits and budgets silently start over`
    )
    fixes.push(
      'set maxmemory-policy noeviction on the Redis that holds rate limits and budgets (give an evicting cache its own Redis)'
    )
  }
  // Checked in production only, as the redis-security item checks the URL's password.
  if (probe.acceptsAnyPassword === true && facts.production) {
    details.push(
      'the server does not check the password in REDIS_URL (its user has nopass): anyone who reaches it gets in'
    )
    fixes.push(
      'set a password on the server (requirepass, or an ACL user with >password) and give it in REDIS_URL'
    )
  }
  if (probe.cluster === true) {
    details.push(
      'REDIS_URL is a Redis Cluster node: a plain client (new Redis(REDIS_URL)) gets MOVED errors for keys on other nodes'
    )
    fixes.push('connect with ioredis new Cluster([{ host, port }]) and pass it to redisStore')
  }
  if (details.length > 0)
    return warn(ID, TITLE, `${found}; ${details.join('; ')}`, fixes.join('; '))
  if (probe.server === undefined)
    return pass(ID, TITLE, `${found} (INFO not allowed: settings not read)`)
  return pass(ID, TITLE, policy === undefined ? found : `${found}, maxmemory-policy ${policy}`)
}
