/**
 * `initSentry` driven through a stand-in `sentry` module: the options it hands to `Sentry.init`
 * and the client hooks it registers are recorded, and no Sentry is loaded. `forgetSentryClient()`
 * removes the marker `initSentry` leaves on globalThis, so the next test file starts clean.
 */
import { initSentry, type SentryModule } from '@aikit/observability/sentry'

// biome-ignore lint/suspicious/noExplicitAny: a hook takes whatever Sentry hands it
export type Hook = (value: any, hint?: unknown) => unknown

export interface StandIn {
  /** What `initSentry` passed to `Sentry.init` (empty when the app had initialised Sentry). */
  options: Record<string, Hook>
  /** The client hooks registered (`processSpan`, `beforeAddBreadcrumb`, `beforeEnvelope`…). */
  clientHooks: Map<string, Hook[]>
}

const INITIALISED = Symbol.for('@aikit/observability.sentry-client')

export function initWithStandIn(
  opts: { version?: string; appInitialised?: boolean; tracesSampleRate?: number } = {}
): StandIn {
  const standIn: StandIn = { options: {}, clientHooks: new Map() }
  const client = {
    on(hook: string, cb: Hook) {
      standIn.clientHooks.set(hook, [...(standIn.clientHooks.get(hook) ?? []), cb])
    },
  }
  const fake = {
    SDK_VERSION: opts.version ?? '11.12.0',
    isInitialized: () => opts.appInitialised === true,
    init: (o: unknown) => {
      standIn.options = o as Record<string, Hook>
    },
    getClient: () => client,
    getGlobalScope: () => ({ addEventProcessor: () => undefined }),
  } as unknown as SentryModule
  initSentry({
    dsn: 'http://public@127.0.0.1:9/1',
    sentry: fake,
    ...(opts.tracesSampleRate === undefined ? {} : { tracesSampleRate: opts.tracesSampleRate }),
  })
  return standIn
}

export function forgetSentryClient(): void {
  delete (globalThis as Record<symbol, unknown>)[INITIALISED]
}
