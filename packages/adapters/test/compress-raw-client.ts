/**
 * The raw HTTP client of the compress() tests on real servers: node:http does not decode
 * `Content-Encoding`, so the tests see the bytes on the wire and decode them themselves.
 */
import { request as httpRequest } from 'node:http'
import zlib from 'node:zlib'

export interface RawResponse {
  status: number
  headers: Record<string, string | undefined>
  body: Buffer
}

/** One request; rejects when no complete response arrives in `ms` (a hung body). */
export function rawRequest(
  url: string,
  headers: Record<string, string>,
  method = 'GET',
  ms = 5000
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers, method }, (res) => {
      const parts: Buffer[] = []
      res.on('data', (c: Buffer) => parts.push(c))
      res.once('end', () => {
        clearTimeout(timer)
        const h: Record<string, string | undefined> = {}
        for (const [k, v] of Object.entries(res.headers)) {
          h[k] = Array.isArray(v) ? v.join(', ') : v
        }
        resolve({ status: res.statusCode ?? 0, headers: h, body: Buffer.concat(parts) })
      })
      res.once('error', reject)
    })
    const timer = setTimeout(() => {
      req.destroy()
      reject(new Error(`${method} ${url}: no complete response in ${ms} ms`))
    }, ms)
    req.once('error', reject)
    req.end()
  })
}

/** The body decoded per its Content-Encoding (gzip, br or none). */
export function decodeBody(r: RawResponse): string {
  const enc = r.headers['content-encoding']
  if (enc === 'gzip') return String(zlib.gunzipSync(r.body))
  if (enc === 'br') return String(zlib.brotliDecompressSync(r.body))
  if (enc === undefined) return String(r.body)
  throw new Error(`unexpected content-encoding ${enc}`)
}
