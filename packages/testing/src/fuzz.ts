/**
 * fast-check arbitraries for the HTTP-facing parsers, shared by the fuzz suites of several
 * packages (core's parsers, the adapters' real servers).
 */
import fc from 'fast-check'

const enc = new TextEncoder()

/** Pieces of adversarial JSON text: escapes, lone surrogates, huge numbers, proto keys, junk. */
export const jsonPiece = fc.constantFrom(
  '{',
  '}',
  '[',
  ']',
  ',',
  ':',
  '"a"',
  '"a":1',
  '{"a":1,"a":2}',
  '"__proto__"',
  '{"__proto__":{"polluted":1}}',
  '{"constructor":{"prototype":{"polluted":1}}}',
  '"\\u005f_proto__"',
  '"constructor"',
  '"\\ud800"',
  '"\\udc00\\ud800"',
  '"\\u0000"',
  '1e999999',
  '-1e-999999',
  '123456789012345678901234567890123456789',
  '-0',
  '0.0000000000000000000000000001',
  'true',
  'null',
  'NaN',
  'Infinity',
  ' ',
  '\t\r\n',
  '"\\"',
  '\\',
  '"',
  '\uFEFF',
  '\u2028',
  '\uD800', // a lone surrogate in the source text (TextEncoder turns it into U+FFFD)
  '💥'
)
export const adversarialText = fc.array(jsonPiece, { maxLength: 40 }).map((parts) => parts.join(''))

/** Byte sequences that are not valid UTF-8, or are BOMs of other encodings. */
export const badBytes = fc.constantFrom(
  [0xef, 0xbb, 0xbf], // UTF-8 BOM (valid, stripped by the decoder)
  [0xff, 0xfe], // UTF-16LE BOM
  [0xfe, 0xff], // UTF-16BE BOM
  [0xed, 0xa0, 0x80], // CESU-8 surrogate
  [0xc0, 0xaf], // overlong '/'
  [0xf8, 0x88, 0x80, 0x80, 0x80],
  [0x80],
  [0x00],
  [0xe2, 0x82] // truncated sequence
)

/** Adversarial bodies: random bytes, adversarial text, or text with invalid bytes spliced in. */
export const adversarialBody = fc.oneof(
  fc.uint8Array({ maxLength: 256 }),
  adversarialText.map((t) => enc.encode(t)),
  fc.json({ maxDepth: 4 }).map((t) => enc.encode(t)),
  fc.tuple(adversarialText, badBytes, fc.nat(), fc.boolean()).map(([text, bytes, at, prefix]) => {
    const body = enc.encode(text)
    const i = prefix ? 0 : body.length === 0 ? 0 : at % body.length
    return Uint8Array.from([...body.subarray(0, i), ...bytes, ...body.subarray(i)])
  })
)

export const JSON_TYPES = ['application/json', 'APPLICATION/JSON', 'application/vnd.api+json']
export const NOT_JSON_TYPES = [
  'text/json',
  'text/plain',
  'application/jsonx',
  'application/json-seq',
  'application/x-www-form-urlencoded',
  'multipart/form-data',
  'application/csp-report',
  '',
]
export const UTF8_CHARSETS = ['charset=utf-8', 'charset=UTF-8', 'charset="utf-8"', 'charset=utf8']
export const OTHER_CHARSETS = ['charset=utf-16', 'charset=latin1', 'charset=iso-8859-1', 'charset=']
export const contentType = fc
  .record({
    media: fc.constantFrom(...JSON_TYPES, ...NOT_JSON_TYPES),
    charset: fc.option(fc.constantFrom(...UTF8_CHARSETS, ...OTHER_CHARSETS), { nil: undefined }),
    extra: fc.option(fc.constantFrom('boundary=x', 'q=1', 'foo=bar'), { nil: undefined }),
    pad: fc.constantFrom('', ' ', '  ', '\t'),
  })
  .map((c) => ({
    ...c,
    header: [c.media, c.extra, c.charset].filter((p) => p !== undefined).join(`;${c.pad}`),
  }))

/** Socket peers as Node reports them. */
export const socketPeer = fc.constantFrom(
  '127.0.0.1',
  '::ffff:127.0.0.1',
  '::1',
  '10.0.0.7',
  '192.168.1.2',
  '8.8.8.8',
  '2001:db8::5',
  '169.254.1.1'
)
/** One X-Forwarded-For hop: proxies, clients, IPv6 with brackets and ports, and junk. */
export const hop = fc.oneof(
  fc.constantFrom(
    '127.0.0.1',
    '10.1.2.3',
    '10.0.0.1:443',
    '[::1]:8080',
    '::ffff:10.0.0.9',
    '172.16.5.4',
    '192.168.0.10',
    'fe80::1',
    '1.1.1.1',
    '203.0.113.9',
    '6.6.6.6:1234',
    '2001:db8::1',
    '[2001:db8::2]:443',
    '::ffff:8.8.4.4',
    'unknown',
    '',
    '_hidden',
    '1.1.1.1.1',
    '300.1.1.1',
    '[::1',
    "1.1.1.1' OR 1=1",
    '0x7f.1',
    '127.1'
  ),
  fc.ipV4(),
  fc.ipV6(),
  fc.string({ maxLength: 12 }).filter((s) => !s.includes(','))
)
export const xff = fc.option(
  fc
    .tuple(fc.array(hop, { maxLength: 6 }), fc.constantFrom(',', ', ', ' , '))
    .map(([hops, sep]) => hops.join(sep)),
  { nil: undefined }
)
