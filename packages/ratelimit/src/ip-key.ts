/**
 * @module ip-key
 * The client-IP part of the middleware's default key: IPv4 as is, an IPv6 address standing for an
 * IPv4 client (mapped, translated, compatible, NAT64/SIIT, 6to4, Teredo) as its IPv4 address, any
 * other IPv6 address as its `/prefix` network.
 */
import { InvalidOptionsError } from '@aikit/core'

/**
 * The rate-limit key of a client address, as `rateLimit()`'s default key builds it when no subject
 * is set: for a `keyBy` that keys by IP (or falls back to it) without letting a client with an IPv6
 * network rotate through its addresses, one fresh bucket each.
 *
 * - IPv4 as is: `ip:192.0.2.1`.
 * - An IPv6 address standing for an IPv4 client as that IPv4 address, so it shares the bucket of its
 *   plain form: IPv4-mapped `::ffff:a.b.c.d` (how a dual-stack socket reports IPv4 peers; the hex
 *   form `::ffff:7f00:1` too), IPv4-translated `::ffff:0:a.b.c.d`, IPv4-compatible `::a.b.c.d`
 *   (`::` and `::1` excepted), NAT64 / SIIT `64:ff9b::a.b.c.d`, 6to4 `2002:AABB:CCDD::/48` (the
 *   site's public IPv4) and Teredo `2001:0::/32` (the client's public IPv4).
 * - Any other IPv6 address as its `/ipv6Prefix` network, written in full:
 *   `ipKey('2001:db8:0:ff12::1', 56)` is `ip:2001:db8:0:ff00:0:0:0:0/56`, the key of every address
 *   of that `/56` (`56` is the middleware's default `ipv6Prefix`: a home or small-office
 *   allocation; `64` is one LAN).
 * - Anything else as is, `ip:<ip>`: an IPv6 address that does not parse, or a string without a
 *   colon (it is not checked to be an IPv4 address).
 *
 * @example
 * rateLimit({ limiter, keyBy: (ctx) => (ctx.ip ? ipKey(ctx.ip, 56) : ctx.state.subject) })
 * @param ip the client address, e.g. `ctx.ip` (an IPv6 zone `%eth0` is dropped; any case)
 * @param ipv6Prefix how many leading bits of an IPv6 address name the client: an integer from 1 to
 *   128
 * @throws InvalidOptionsError naming `ipv6Prefix` when it is not an integer from 1 to 128
 */
export function ipKey(ip: string, ipv6Prefix: number): string {
  if (!Number.isInteger(ipv6Prefix) || ipv6Prefix < 1 || ipv6Prefix > 128) {
    throw new InvalidOptionsError('ipv6Prefix', 'must be an integer from 1 to 128')
  }
  if (!ip.includes(':')) return `ip:${ip}`
  const groups = parseIpv6(ip)
  if (groups === undefined) return `ip:${ip}`
  return `ip:${embeddedIpv4(groups) ?? ipv6Network(groups, ipv6Prefix)}`
}

/** Dotted IPv4 from two 16-bit groups. */
const dotted = (hi: number, lo: number): string => `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`

/**
 * The IPv4 client an IPv6 source address stands for, else `undefined`. Each of these prefixes
 * makes a `/prefix` grouping wrong one way or the other, so the IPv4 address is the key instead:
 * - IPv4-mapped (`::ffff:0:0/96`), IPv4-translated (`::ffff:0:0:0/96`, RFC 2765) and
 *   IPv4-compatible (`::/96`, deprecated by RFC 4291 but still parsed and routed by some stacks):
 *   all lie in `::/56` next to `::1`, so every such client shared one bucket with localhost. `::`
 *   and `::1` are not IPv4-compatible (RFC 4291 §2.5.5.1; Linux and Ruby exclude them too).
 * - `64:ff9b::/96` (RFC 6052): a server sees it as a source only behind a translator that turns
 *   IPv4 clients into IPv6 ones (SIIT, RFC 7915 / 7755); the low 32 bits are the client's own
 *   address, and the whole prefix is one `/56`. (The other direction, IPv6-only clients going out
 *   through NAT64, reaches the server from the NAT64's IPv4 pool, keyed as IPv4 already.) The
 *   local-use `64:ff9b:1::/48` (RFC 8215) embeds the address where its operator chose: grouped.
 * - 6to4 `2002:AABB:CCDD::/48` (RFC 3056): the `/48` of the site whose public IPv4 is AABB:CCDD;
 *   grouped by `/56`, one IPv4 host could rotate through 256 buckets.
 * - Teredo `2001:0::/32` (RFC 4380): server IPv4, flags, port, then the client's public IPv4
 *   with every bit inverted. The `/56` is the Teredo server's, shared by all its clients, while
 *   one client changing server got a fresh bucket.
 * Claiming another host's embedded address gains nothing: replies to it go to that host (or the
 * translator / relay serving it), so a connection from a forged one never completes.
 */
function embeddedIpv4(groups: readonly number[]): string | undefined {
  const [g0, g1, g2, g3, g4, g5, hi, lo] = groups as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ]
  if (g0 === 0x2002) return dotted(g1, g2)
  if (g0 === 0x2001 && g1 === 0) return dotted(~hi & 0xffff, ~lo & 0xffff)
  if (g2 !== 0 || g3 !== 0) return undefined
  if (g0 === 0x64 && g1 === 0xff9b) return g4 === 0 && g5 === 0 ? dotted(hi, lo) : undefined
  if (g0 !== 0 || g1 !== 0) return undefined
  const mapped = g4 === 0 && g5 === 0xffff
  const translated = g4 === 0xffff && g5 === 0
  const compatible = g4 === 0 && g5 === 0 && (hi !== 0 || lo > 1)
  return mapped || translated || compatible ? dotted(hi, lo) : undefined
}

/** The `/prefix` network of 8 IPv6 groups as full hex groups plus the length. */
function ipv6Network(groups: readonly number[], prefix: number): string {
  const out = groups.map((g, i) => {
    const bits = Math.min(16, Math.max(0, prefix - i * 16))
    const mask = bits === 0 ? 0 : (0xffff << (16 - bits)) & 0xffff
    return (g & mask).toString(16)
  })
  return `${out.join(':')}/${prefix}`
}

/** The 8 16-bit groups of an IPv6 address (zone dropped, IPv4 tail allowed), else `undefined`. */
function parseIpv6(raw: string): number[] | undefined {
  let s = raw.toLowerCase()
  const zone = s.indexOf('%')
  if (zone !== -1) s = s.slice(0, zone)
  const lastColon = s.lastIndexOf(':')
  const last = s.slice(lastColon + 1)
  if (last.includes('.')) {
    // An embedded IPv4 tail (`::ffff:1.2.3.4`) becomes two hex groups.
    const b = last.split('.').map((p) => (/^\d{1,3}$/.test(p) ? Number(p) : Number.NaN))
    if (b.length !== 4 || b.some((n) => !(n >= 0 && n <= 255))) return undefined
    const [b0, b1, b2, b3] = b as [number, number, number, number]
    s = `${s.slice(0, lastColon + 1)}${((b0 << 8) | b1).toString(16)}:${((b2 << 8) | b3).toString(16)}`
  }
  const parts = (half: string): number[] | undefined => {
    if (half === '') return []
    const hs = half.split(':')
    if (hs.some((h) => !/^[0-9a-f]{1,4}$/.test(h))) return undefined
    return hs.map((h) => Number.parseInt(h, 16))
  }
  const dbl = s.indexOf('::')
  if (dbl === -1) {
    const groups = parts(s)
    return groups?.length === 8 ? groups : undefined
  }
  if (s.indexOf('::', dbl + 1) !== -1) return undefined
  const head = parts(s.slice(0, dbl))
  const rest = parts(s.slice(dbl + 2))
  if (head === undefined || rest === undefined || head.length + rest.length > 7) return undefined
  return [...head, ...new Array<number>(8 - head.length - rest.length).fill(0), ...rest]
}
