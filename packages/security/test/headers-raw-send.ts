/**
 * A raw HTTP client for the tests: sends any header (Host, Origin, Sec-Fetch-Site, Cookie) exactly
 * as given, which `fetch` does not guarantee. Kept apart from headers-stacks.ts so the real-Next
 * test does not load `next/server` before Next sets up its AsyncLocalStorage.
 */
import { request as httpRequest } from 'node:http'

export interface Reply {
  status: number
  headers: Headers
  body: string
}

export interface RequestInit {
  method?: string
  headers?: Record<string, string>
  body?: string
}

/** The host every request claims (`Host` header; the Web Request URL's host under Next). */
export const APP_HOST = 'app.example.com'

export function rawSend(base: string, path: string, init: RequestInit = {}): Promise<Reply> {
  const url = new URL(path, base)
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { host: APP_HOST, ...init.headers }
    if (init.body !== undefined) headers['content-length'] = String(Buffer.byteLength(init.body))
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname + url.search,
        method: init.method ?? 'GET',
        headers,
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          const h = new Headers()
          for (let i = 0; i < res.rawHeaders.length; i += 2) {
            h.append(res.rawHeaders[i]!, res.rawHeaders[i + 1]!)
          }
          resolve({
            status: res.statusCode ?? 0,
            headers: h,
            body: Buffer.concat(chunks).toString(),
          })
        })
        res.on('error', reject)
      }
    )
    req.on('error', reject)
    req.end(init.body)
  })
}
