/**
 * A CORS pattern over a public suffix (`https://*.github.io`, `https://*.co.uk`) with
 * `credentials: true` lets every other customer of that host or registry read the signed-in
 * user's data, so `cors()` refuses it at construction, as it refuses `'*'` with credentials.
 * Without credentials it is allowed (a public API open to preview deployments); a pattern under
 * one's own name there, and exact origins, are allowed either way. Requests go through a real
 * node:http server.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { toNodeHandler } from '@aikit/adapters/node'
import { InvalidOptionsError } from '@aikit/core'
import { describe, expect, it } from 'vitest'
import { cors } from '../src/index.js'

function refusal(make: () => unknown): InvalidOptionsError {
  try {
    make()
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOptionsError)
    return error as InvalidOptionsError
  }
  throw new Error('expected an InvalidOptionsError')
}

describe('cors(): wildcards over public suffixes', () => {
  for (const pattern of [
    'https://*.github.io',
    'https://*.vercel.app',
    'https://*.herokuapp.com',
    'https://*.pages.dev',
    'https://*.amazonaws.com',
    'https://*.co.uk',
    'https://*.com.au',
    'https://*.CO.JP',
    'http://*.ngrok-free.app:8080',
  ]) {
    it(`${pattern} is refused, naming the entry`, () => {
      const error = refusal(() =>
        cors({ origin: ['https://app.example.com', pattern], credentials: true })
      )
      expect(error.field).toBe('origin[1]')
      expect(error.message).toContain('register or host')
    })
  }

  it('without credentials such a pattern is allowed (and lets in any site there)', async () => {
    const mw = cors({ origin: ['https://*.vercel.app'] })
    const server = createServer(toNodeHandler(mw, { handler: (_req, res) => res.end('ok') }))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
    try {
      const res = await fetch(url, { headers: { origin: 'https://preview-abc.vercel.app' } })
      expect(res.headers.get('access-control-allow-origin')).toBe('https://preview-abc.vercel.app')
      expect(res.headers.get('access-control-allow-credentials')).toBeNull()
    } finally {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  })

  it('patterns under a name of your own there, and exact origins, are allowed', async () => {
    const mw = cors({
      origin: ['https://*.acme.github.io', 'https://*.shop.co.uk', 'https://acme.vercel.app'],
      credentials: true,
    })
    const server = createServer(toNodeHandler(mw, { handler: (_req, res) => res.end('ok') }))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
    try {
      const allowed = async (origin: string) =>
        (await fetch(url, { headers: { origin } })).headers.get('access-control-allow-origin')
      expect(await allowed('https://docs.acme.github.io')).toBe('https://docs.acme.github.io')
      expect(await allowed('https://www.shop.co.uk')).toBe('https://www.shop.co.uk')
      expect(await allowed('https://acme.vercel.app')).toBe('https://acme.vercel.app')
      expect(await allowed('https://evil.github.io')).toBeNull()
      expect(await allowed('https://evil.vercel.app')).toBeNull()
    } finally {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  })
})
