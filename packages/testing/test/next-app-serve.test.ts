/**
 * serve(handle, headers): the headers are forced onto every incoming request. Node keeps
 * `req.headers` under lower-case names and HTTP header names are case-insensitive, so a header
 * given as 'X-Aikit-Profile' must replace what the client sent as 'x-aikit-profile'.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { describe, expect, it } from 'vitest'
import { serve } from '../src/next-app.js'

const echo = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
  res.setHeader('content-type', 'application/json')
  const profile = req.headers['x-aikit-profile'] ?? null
  const capitalized = Object.keys(req.headers).filter((name) => name !== name.toLowerCase())
  res.end(JSON.stringify({ profile, capitalized }))
}

describe('serve() forced headers', () => {
  it('forces a header given with capitals, over the client value, under its lower-case name', async () => {
    const server = await serve(echo, { 'X-Aikit-Profile': 'trusted' })
    try {
      const missing = await (await fetch(server.url)).json()
      expect(missing).toEqual({ profile: 'trusted', capitalized: [] })
      const spoofed = await (
        await fetch(server.url, { headers: { 'x-aikit-profile': 'spoofed' } })
      ).json()
      expect(spoofed).toEqual({ profile: 'trusted', capitalized: [] })
    } finally {
      await server.close()
    }
  })
})
