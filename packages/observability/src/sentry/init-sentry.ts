/**
 * @module init-sentry
 * `initSentry()` for @sentry/node v11 (v10 through the options it understands): data collection
 * locked down by default (no cookies, no user info, no request bodies, no GenAI inputs/outputs, no
 * stack-frame variables), every event, transaction, span and breadcrumb scrubbed, tags for the
 * request id, route, provider and model, and idempotent: a second call (hot reload, two copies of
 * this package) returns the first client and registers nothing twice.
 */
import { currentContext, InvalidOptionsError, requireAsyncContext } from '@aikit/core'
import { rejectUnknownOptions } from '@aikit/core/adapter'
import { redact as defaultRedact, type Redactor } from '@aikit/security'
import * as SentryNode from '@sentry/node'
import { routeOf } from '../route.js'
import '../state.js'
import {
  guardClient,
  guardEnvelopes,
  type HookableClient,
  lockDataCollection,
} from './guard-client.js'
import {
  type ScrubPolicy,
  SENSITIVE_HEADERS,
  type SourceContext,
  scrubBreadcrumb,
  scrubEvent,
  scrubSpan,
} from './scrub.js'

/** The parts of the `@sentry/node` module `initSentry` uses. */
export type SentryModule = Pick<
  typeof SentryNode,
  'init' | 'getClient' | 'SDK_VERSION' | 'isInitialized' | 'getGlobalScope'
>

/** Options of `initSentry`. */
export interface SentryOptions {
  /**
   * The DSN. Without one (`undefined` or `''`, e.g. unset in development) nothing is initialised and
   * `undefined` is returned.
   */
  dsn: string | undefined
  /** `environment` of every event. Default: `process.env.NODE_ENV`, else `'production'`. */
  environment?: string
  /** `release` of every event. Default: Sentry's own detection. */
  release?: string
  /** Share of transactions traced, 0 to 1. Default `0` (errors only). */
  tracesSampleRate?: number
  /** Send incoming request bodies (still redacted). They hold prompts in an AI app. Default `false`. */
  allowRequestBodies?: boolean
  /** Let Sentry's AI integrations record prompts and completions (still redacted). Default `false`. */
  allowGenAiContent?: boolean
  /** Applied to everything sent. Default: `redact` from `@aikit/security`. */
  redact?: Redactor
  /**
   * The source lines Sentry attaches around every stack frame (`pre_context`, `context_line`,
   * `post_context`, from its contextLines integration). `'scrub'`: sent, redacted like everything
   * else (a key written into the source, `sk-ant-…`, arrives as `sk-ant-[redacted]`); `'drop'`:
   * removed from every exception and thread frame, for code that may hold secrets no pattern
   * recognises. Default `'scrub'`.
   */
  sourceContext?: SourceContext
  /**
   * Further `Sentry.init` options (integrations, sampling…). Their `beforeSend`,
   * `beforeSendTransaction`, `beforeSendSpan` and `beforeBreadcrumb` run first, then the scrubbing.
   * `dataCollection` / `sendDefaultPii` here are ignored: the locked-down settings above decide.
   */
  sentryOptions?: Record<string, unknown>
  /** The Sentry SDK to initialise. Default: the installed `@sentry/node`. */
  sentry?: SentryModule
}

/**
 * The keys of `SentryOptions`; any other key is refused. `sentryOptions` is Sentry's own and goes
 * to `Sentry.init` unchecked.
 */
const SENTRY_OPTION_KEYS = [
  'dsn',
  'environment',
  'release',
  'tracesSampleRate',
  'allowRequestBodies',
  'allowGenAiContent',
  'redact',
  'sourceContext',
  'sentryOptions',
  'sentry',
] as const satisfies readonly (keyof SentryOptions)[]

const INITIALISED = Symbol.for('@aikit/observability.sentry-client')

type Hook<T> = ((value: T, hint?: unknown) => T | null | PromiseLike<T | null>) | undefined

/** The tags of the running request, if any. */
function requestTags(): Record<string, string> {
  const ctx = currentContext()
  if (ctx === undefined) return {}
  const tags: Record<string, string> = {}
  const state = ctx.state
  if (state.requestId !== undefined) tags.request_id = state.requestId
  const route = routeOf(ctx)
  if (route !== undefined) tags.route = route
  if (state.llm?.provider !== undefined) tags['gen_ai.provider.name'] = state.llm.provider
  if (state.llm?.model !== undefined) tags['gen_ai.request.model'] = state.llm.model
  return tags
}

/** The event with the running request's tags added (its own tags win). */
function withRequestTags<E extends object>(event: E): E {
  const tags = requestTags()
  if (Object.keys(tags).length === 0) return event
  const e = event as E & { tags?: Record<string, unknown> }
  return { ...e, tags: { ...tags, ...e.tags } }
}

function chain<T extends object>(
  user: Hook<T>,
  ours: (value: T) => T | null
): (value: T, hint?: unknown) => Promise<T | null> | T | null {
  if (user === undefined) return (value) => ours(value)
  return async (value, hint) => {
    const out = await user(value, hint)
    return out === null ? null : ours(out)
  }
}

/**
 * Initialises Sentry once per process with scrubbing on. Returns the Sentry client (the existing one
 * on a second call), or `undefined` without a DSN. Invalid options throw `InvalidOptionsError`.
 * Call it before the app imports Express/Fastify (`node --import ./instrument.mjs`), as Sentry asks.
 */
export function initSentry(options: SentryOptions): ReturnType<SentryModule['getClient']> {
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionsError('options', 'must be an object')
  }
  rejectUnknownOptions(options, SENTRY_OPTION_KEYS)
  requireAsyncContext() // events are tagged with the running request's id and route
  const {
    dsn,
    environment = process.env.NODE_ENV || 'production',
    release,
    tracesSampleRate = 0,
    allowRequestBodies = false,
    allowGenAiContent = false,
    redact = defaultRedact,
    sourceContext = 'scrub',
    sentryOptions = {},
    sentry = SentryNode,
  } = options
  // An empty DSN is no DSN (docker-compose's `${SENTRY_DSN:-}` gives ''), as defineEnv and the
  // doctor take an empty variable as unset: nothing is initialised below, nothing thrown here.
  if (
    dsn !== undefined &&
    dsn !== '' &&
    (typeof dsn !== 'string' || !/^https?:\/\/[^@/]+@/.test(dsn))
  ) {
    throw new InvalidOptionsError('dsn', 'must be a Sentry DSN (https://<key>@<host>/<project>)')
  }
  if (typeof tracesSampleRate !== 'number' || !(tracesSampleRate >= 0 && tracesSampleRate <= 1)) {
    throw new InvalidOptionsError('tracesSampleRate', 'must be a number from 0 to 1')
  }
  if (typeof allowRequestBodies !== 'boolean') {
    throw new InvalidOptionsError('allowRequestBodies', 'must be a boolean')
  }
  if (typeof allowGenAiContent !== 'boolean') {
    throw new InvalidOptionsError('allowGenAiContent', 'must be a boolean')
  }
  if (typeof redact !== 'function') throw new InvalidOptionsError('redact', 'must be a function')
  if (sourceContext !== 'scrub' && sourceContext !== 'drop') {
    throw new InvalidOptionsError('sourceContext', "must be 'scrub' or 'drop'")
  }
  if (release !== undefined && typeof release !== 'string') {
    throw new InvalidOptionsError('release', 'must be a string')
  }
  if (sentryOptions === null || typeof sentryOptions !== 'object' || Array.isArray(sentryOptions)) {
    throw new InvalidOptionsError('sentryOptions', 'must be an object')
  }
  if (sentry === null || typeof sentry !== 'object' || typeof sentry.init !== 'function') {
    throw new InvalidOptionsError('sentry', 'must be the @sentry/node module')
  }
  if (typeof environment !== 'string')
    throw new InvalidOptionsError('environment', 'must be a string')

  const g = globalThis as Record<symbol, ReturnType<SentryModule['getClient']> | undefined>
  const existing = g[INITIALISED]
  if (existing !== undefined) return existing
  const policy: ScrubPolicy = { redact, allowRequestBodies, allowGenAiContent, sourceContext }
  if (sentry.isInitialized?.() === true) {
    // The app called Sentry.init itself: initialising again would register every integration
    // twice. Lock its data collection down and scrub through the client's hooks instead: error
    // events and transactions in a global event processor (which also adds the request tags),
    // streamed spans (which skip event processors), breadcrumbs and, last, every envelope.
    const client = sentry.getClient()
    sentry.getGlobalScope().addEventProcessor((event) => scrubEvent(withRequestTags(event), policy))
    if (client !== undefined) guardClient(client as unknown as HookableClient, policy)
    g[INITIALISED] = client
    return client
  }
  if (dsn === undefined || dsn === '') return undefined

  const user = sentryOptions as {
    beforeSend?: Hook<object>
    beforeSendTransaction?: Hook<object>
    beforeSendSpan?: (span: { attributes?: unknown }) => { attributes?: unknown }
    beforeBreadcrumb?: Hook<object>
  }
  const major = Number.parseInt(String(sentry.SDK_VERSION ?? '11'), 10)
  const streamed =
    major >= 11 && (sentryOptions as { traceLifecycle?: unknown }).traceLifecycle !== 'static'
  const privacy =
    major >= 11
      ? {
          dataCollection: {
            userInfo: false,
            cookies: false,
            httpHeaders: {
              request: { deny: [...SENSITIVE_HEADERS] },
              response: { deny: ['set-cookie'] },
            },
            httpBodies: allowRequestBodies ? ['incomingRequest'] : [],
            genAI: { inputs: allowGenAiContent, outputs: allowGenAiContent },
            mcp: { inputs: allowGenAiContent, outputs: allowGenAiContent },
            databaseQueryData: false,
            queues: false,
            stackFrameVariables: false,
          },
        }
      : {
          // v10: no dataCollection; bodies are turned off in beforeSend (request.data removed).
          sendDefaultPii: false,
        }

  sentry.init({
    ...sentryOptions,
    ...privacy,
    dsn,
    environment,
    ...(release === undefined ? {} : { release }),
    tracesSampleRate,
    beforeSend: chain(user.beforeSend, (event) => scrubEvent(withRequestTags(event), policy)),
    // v11 streams spans by default and then ignores beforeSendTransaction (and warns if set);
    // with traceLifecycle 'static' (or v10) spans travel inside transactions, scrubbed there.
    ...(streamed
      ? {
          beforeSendSpan: (span: { attributes?: unknown }) =>
            scrubSpan(user.beforeSendSpan ? user.beforeSendSpan(span) : span, policy),
        }
      : {
          beforeSendTransaction: chain(user.beforeSendTransaction, (event) =>
            scrubEvent(withRequestTags(event), policy)
          ),
        }),
    beforeBreadcrumb: (breadcrumb: object, hint?: unknown) => {
      const b = user.beforeBreadcrumb ? user.beforeBreadcrumb(breadcrumb, hint) : breadcrumb
      return b === null || b === undefined ? null : scrubBreadcrumb(b, policy)
    },
  } as unknown as Parameters<SentryModule['init']>[0])
  const client = sentry.getClient()
  // Settings v10 could not take as options (late v10 reads them from the client too), and a last
  // check on every envelope for what the SDK adds after the hooks above.
  if (client !== undefined) {
    lockDataCollection(client as unknown as HookableClient, policy)
    guardEnvelopes(client as unknown as HookableClient, policy)
  }
  g[INITIALISED] = client
  return client
}
