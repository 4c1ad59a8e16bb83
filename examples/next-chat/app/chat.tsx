'use client'

import { type FormEvent, type KeyboardEvent, useEffect, useRef, useState } from 'react'
import { readServerSentEvents } from '../lib/sse'

interface Turn {
  id: number
  role: 'user' | 'assistant'
  text: string
  /** Assistant turns: still receiving chunks. */
  streaming?: boolean
  /** Assistant turns: answered from the cache. */
  cached?: boolean
}

/** The largest message the API accepts (its validation answers 400 above it). */
const MAX_MESSAGE_CHARS = 2000

/** A message for the person at the keyboard, from the API's JSON error shape and status. */
async function friendlyError(response: Response): Promise<string> {
  if (response.status === 429) {
    const wait = Number(response.headers.get('retry-after'))
    const when = Number.isFinite(wait) && wait > 0 ? `in ${Math.ceil(wait)} s` : 'in a minute'
    return `You are sending messages faster than this demo allows. Please try again ${when}.`
  }
  if (response.status === 402) {
    return "Today's chat budget for your session is used up. Please come back tomorrow."
  }
  if (response.status === 403) {
    return 'The request was blocked as cross-site. Reload the page and try again.'
  }
  let message: string | undefined
  try {
    const body = (await response.json()) as { error?: { message?: unknown } }
    if (typeof body.error?.message === 'string') message = body.error.message
  } catch {
    // Not the JSON error shape (a proxy's HTML page, say): fall back to the status.
  }
  if (response.status === 400) return `The message was not accepted: ${message ?? 'invalid input'}.`
  return `Something went wrong (${response.status}). Please try again.`
}

/** The chat: a transcript of turns and a form that streams each answer from POST /api/chat. */
export function Chat() {
  const [turns, setTurns] = useState<Turn[]>([])
  const [draft, setDraft] = useState('')
  const [error, setError] = useState<string | undefined>()
  const [busy, setBusy] = useState(false)
  const nextId = useRef(0)
  const abort = useRef<AbortController | undefined>(undefined)
  const bottom = useRef<HTMLDivElement>(null)

  useEffect(() => {
    bottom.current?.scrollIntoView({ block: 'end' })
  })
  // Leaving the page cancels a running answer (the server then aborts the model call).
  useEffect(() => () => abort.current?.abort(), [])

  const update = (id: number, change: (turn: Turn) => Turn) =>
    setTurns((all) => all.map((t) => (t.id === id ? change(t) : t)))

  async function send(message: string): Promise<void> {
    const controller = new AbortController()
    abort.current = controller
    setBusy(true)
    setError(undefined)
    const userId = nextId.current++
    const answerId = nextId.current++
    setTurns((all) => [...all, { id: userId, role: 'user', text: message }])
    try {
      const response = await fetch('/api/chat', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
        body: JSON.stringify({ message, stream: true }),
        signal: controller.signal,
      })
      if (!response.ok || response.body === null) {
        setError(await friendlyError(response))
        return
      }
      setTurns((all) => [...all, { id: answerId, role: 'assistant', text: '', streaming: true }])
      for await (const event of readServerSentEvents(response.body)) {
        if (event.event === 'message') {
          const { text } = JSON.parse(event.data) as { text?: unknown }
          if (typeof text === 'string') update(answerId, (t) => ({ ...t, text: t.text + text }))
        } else if (event.event === 'done') {
          const { cached } = JSON.parse(event.data) as { cached?: unknown }
          update(answerId, (t) => ({ ...t, cached: cached === true }))
        } else if (event.event === 'error') {
          setError('The answer stopped before the end. Please try again.')
        }
      }
    } catch {
      // A Stop click aborts on purpose; anything else is a network failure.
      if (!controller.signal.aborted) {
        setError('The connection to the server failed. Check your network and try again.')
      }
    } finally {
      update(answerId, (t) => ({ ...t, streaming: false }))
      setBusy(false)
      abort.current = undefined
    }
  }

  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault()
    const message = draft.trim()
    if (message === '' || busy) return
    setDraft('')
    void send(message)
  }

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    // Enter sends, Shift+Enter starts a new line.
    if (event.key === 'Enter' && !event.shiftKey) {
      event.preventDefault()
      event.currentTarget.form?.requestSubmit()
    }
  }

  return (
    <section className="chat" aria-label="Chat">
      <ol className="transcript" aria-live="polite">
        {turns.map((turn) => (
          <li
            key={turn.id}
            className={`turn turn-${turn.role}`}
            data-testid={turn.role === 'assistant' ? 'answer' : 'question'}
            data-streaming={turn.streaming ? 'true' : 'false'}
          >
            <span className="who">{turn.role === 'user' ? 'You' : 'Assistant'}</span>
            <p className="text">{turn.text}</p>
            {turn.cached ? <span className="badge">cached</span> : null}
          </li>
        ))}
      </ol>
      {error === undefined ? null : (
        <p className="error" role="alert" data-testid="chat-error">
          {error}
        </p>
      )}
      <form className="composer" onSubmit={onSubmit}>
        <textarea
          name="message"
          aria-label="Message"
          placeholder="Ask something…"
          rows={3}
          maxLength={MAX_MESSAGE_CHARS}
          value={draft}
          onChange={(e) => setDraft(e.target.value)}
          onKeyDown={onKeyDown}
        />
        <div className="actions">
          {busy ? (
            <button type="button" onClick={() => abort.current?.abort()}>
              Stop
            </button>
          ) : null}
          <button type="submit" disabled={busy || draft.trim() === ''}>
            Send
          </button>
        </div>
      </form>
      <div ref={bottom} />
    </section>
  )
}
