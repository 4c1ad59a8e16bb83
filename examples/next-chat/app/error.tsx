'use client'

// Shown when rendering the page fails (Next's default error page uses inline styles, which the
// CSP blocks). The details stay in the server log.
export default function PageError({ reset }: { error: Error; reset: () => void }) {
  return (
    <main className="page">
      <h1>Something went wrong</h1>
      <p className="error" role="alert">
        The chat could not be shown. Please try again.
      </p>
      <div className="actions">
        <button type="button" onClick={() => reset()}>
          Try again
        </button>
      </div>
    </main>
  )
}
