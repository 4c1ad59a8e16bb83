import Link from 'next/link'

// Next's built-in 404 page styles itself with inline style attributes, which this app's CSP
// (style-src 'self' + nonce) blocks; this one uses the stylesheet.
export default function NotFound() {
  return (
    <main className="page">
      <h1>Page not found</h1>
      <p>
        <Link href="/">Back to the chat</Link>
      </p>
    </main>
  )
}
