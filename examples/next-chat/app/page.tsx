import { getAppKit } from '../lib/kit'
import { Chat } from './chat'

// Rendered per request: the fake-model notice reflects the running server's environment.
export const dynamic = 'force-dynamic'

export default function Page() {
  const { kit } = getAppKit()
  return (
    <main className="page">
      <header className="header">
        <h1>AI Kit chat</h1>
        {kit.fakeModel ? (
          <p className="notice" data-testid="fake-model">
            Fake model (no ANTHROPIC_API_KEY set)
          </p>
        ) : (
          <p className="model">Model: {kit.config.ANTHROPIC_MODEL}</p>
        )}
      </header>
      <Chat />
    </main>
  )
}
