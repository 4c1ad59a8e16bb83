/**
 * @module redis-auth
 * Whether the server checks the password `REDIS_URL` gives. A user with `nopass` (Redis 6+, the
 * default user of a server without `requirepass`) accepts any password, and ioredis connects
 * without a word (Redis 5 answers "no password is set", which ioredis only warns about): the URL
 * looks protected while anyone who reaches the server gets in. Read with read-only commands on the
 * probe's connection; never a second AUTH with a wrong password (failed logins alert some hosts).
 */
import type { Redis } from 'ioredis'

/** The flags of an `ACL GETUSER` reply (a flat list `name, value, ...`, or a map under RESP3). */
function flagsOf(reply: unknown): readonly unknown[] | undefined {
  if (Array.isArray(reply)) {
    const at = reply.indexOf('flags')
    const flags: unknown = at === -1 ? undefined : reply[at + 1]
    return Array.isArray(flags) ? flags : undefined
  }
  if (reply instanceof Map) {
    const flags: unknown = reply.get('flags')
    return Array.isArray(flags) ? flags : undefined
  }
  return undefined
}

const messageOf = (error: unknown): string =>
  typeof error === 'object' && error !== null && typeof (error as Error).message === 'string'
    ? (error as Error).message
    : ''

/**
 * True when the connection's user takes any password, false when it has one, undefined when the
 * server does not say (ACL and CONFIG denied, as on most managed services).
 */
export async function acceptsAnyPassword(client: Redis): Promise<boolean | undefined> {
  try {
    const user = await client.call('ACL', 'WHOAMI')
    const flags = flagsOf(await client.call('ACL', 'GETUSER', String(user)))
    return flags === undefined ? undefined : flags.includes('nopass')
  } catch (error) {
    // Redis < 6 has no ACL: its one password is `requirepass`. With ACL (here denied),
    // `requirepass` is only the default user's and says nothing of the URL's user.
    if (!/^ERR unknown command/i.test(messageOf(error))) return undefined
  }
  try {
    const reply = await client.config('GET', 'requirepass')
    return Array.isArray(reply) && reply.length >= 2 ? reply[1] === '' : undefined
  } catch {
    return undefined
  }
}
