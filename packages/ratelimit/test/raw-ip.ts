/**
 * The default key's tests over raw client addresses: a context whose `ip` is the socket address as
 * a dual-stack socket reports it (not normalised by core), and the status one request gets.
 */
import { rateLimit } from '@aikit/ratelimit'
import { TestContext } from './test-context.js'

/** A context whose `ip` is the raw socket address, not normalised by core. */
class RawIpContext extends TestContext {
  readonly #raw: string
  constructor(raw: string) {
    super({ remote: raw })
    this.#raw = raw
  }
  override get ip(): string {
    return this.#raw
  }
}

/** The status `mw` answers a request from `ip` (seen raw) with. */
export async function status(mw: ReturnType<typeof rateLimit>, ip: string): Promise<number> {
  const ctx = new RawIpContext(ip)
  await ctx.run(mw)
  return ctx.written?.status ?? 0
}

/** A limiter with the default key: one request a minute. */
export const oneAMinute = () => rateLimit({ limits: [{ limit: 1, window: '1m' }] })
