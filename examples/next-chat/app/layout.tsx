import type { Metadata } from 'next'
import { headers } from 'next/headers'
import type { ReactNode } from 'react'
import './globals.css'

export const metadata: Metadata = {
  title: 'AI Kit chat',
  description: 'A Next.js chat on AI Kit: streaming answers, CSP nonce, CSRF, rate limit, budget.',
}

/**
 * Reads the per-request CSP nonce that proxy.ts passes as the `x-nonce` request header. Reading a
 * request header renders every page per request, which a nonce requires: a prerendered page would
 * carry a stale nonce and its scripts would be blocked. Next puts the nonce on its own scripts; a
 * `<Script>` or inline `<script>` added to a page must get `nonce={nonce}` too.
 */
export default async function RootLayout({ children }: { children: ReactNode }) {
  const nonce = (await headers()).get('x-nonce')
  if (nonce === null && process.env.NODE_ENV === 'production') {
    // Without proxy.ts there is no CSP at all: say so in the server log rather than fail the page.
    console.warn('next-chat: no x-nonce request header; is proxy.ts running for this path?')
  }
  return (
    <html lang="en">
      <body>{children}</body>
    </html>
  )
}
