/**
 * @module ip-key
 * The client-IP part of the middleware's default key: IPv4 as is, an IPv6 address standing for an
 * IPv4 client (mapped, translated or compatible) as its IPv4 address, any other IPv6 address as its
 * `/prefix` network.
 */

/**
 * `ip:<address>` for a client address: an IPv4 address as is; an IPv6 address that embeds an IPv4
 * client's address (see `embeddedIpv4`: `::ffff:a.b.c.d` as a dual-stack socket reports IPv4 peers,
 * also in hex `::ffff:7f00:1`; `::ffff:0:a.b.c.d`; `::a.b.c.d`) as that IPv4 address, so that it
 * shares the bucket of its plain form; any other IPv6 address as its `/ipv6Prefix` network
 * (`ip:2001:db8:0:ff00:0:0:0:0/56`); an address that does not parse as is.
 */
export function ipKey(ip: string, ipv6Prefix: number): string {
  if (!ip.includes(':')) return `ip:${ip}`
  const groups = parseIpv6(ip)
  if (groups === undefined) return `ip:${ip}`
  return `ip:${embeddedIpv4(groups) ?? ipv6Network(groups, ipv6Prefix)}`
}

/**
 * The dotted IPv4 address of an IPv6 address that carries one in its last 32 bits, else
 * `undefined`: IPv4-mapped (`::ffff:0:0/96`), IPv4-translated (`::ffff:0:0:0/96`, RFC 2765) and
 * IPv4-compatible (`::/96`, deprecated by RFC 4291 but still parsed and routed by some stacks).
 * All three lie in `::/56` next to `::1`: grouped by prefix, every such client would share one
 * bucket with every other one and with localhost. `::` and `::1` (unspecified, loopback) are not
 * IPv4-compatible addresses (RFC 4291 §2.5.5.1; Linux and Ruby exclude them too) and keep their
 * IPv6 key.
 */
function embeddedIpv4(groups: readonly number[]): string | undefined {
  for (let i = 0; i < 4; i++) if (groups[i] !== 0) return undefined
  const g4 = groups[4] as number
  const g5 = groups[5] as number
  const hi = groups[6] as number
  const lo = groups[7] as number
  const mapped = g4 === 0 && g5 === 0xffff
  const translated = g4 === 0xffff && g5 === 0
  const compatible = g4 === 0 && g5 === 0 && (hi !== 0 || lo > 1)
  if (!mapped && !translated && !compatible) return undefined
  return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`
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
