/**
 * @module any-signal
 * A per-call signal aborted by any of several others, one of which may live far longer than the
 * call (a worker's close signal, a caller's app-wide signal).
 */

const unlinked = (): void => {}

/**
 * A signal that aborts as soon as any of `sources` does, with that one's reason (at once if one
 * has already), and `release`, which removes its listeners from them once the call is over. Not
 * `AbortSignal.any`: on Node 20 (nodejs/node#55351) each one leaves an entry on its sources that
 * is never removed, so a long-lived source would grow with every job or call. One source is
 * returned as it is.
 */
export function anySignal(sources: readonly AbortSignal[]): {
  readonly signal: AbortSignal | undefined
  readonly release: () => void
} {
  if (sources.length <= 1) return { signal: sources[0], release: unlinked }
  const controller = new AbortController()
  const unlinks: Array<() => void> = []
  const release = (): void => {
    for (const remove of unlinks.splice(0)) remove()
  }
  for (const source of sources) {
    if (source.aborted) {
      release()
      controller.abort(source.reason)
      break
    }
    const abort = (): void => {
      release()
      controller.abort(source.reason)
    }
    source.addEventListener('abort', abort, { once: true })
    unlinks.push(() => source.removeEventListener('abort', abort))
  }
  return { signal: controller.signal, release }
}
