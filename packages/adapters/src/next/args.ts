/**
 * @module next/args
 * `(...middleware, options?)` for the Next adapter, validated at construction.
 */
import type { Middleware } from '@aikit/core'
import {
  type AdapterOptions,
  type ResolvedAdapterOptions,
  resolveAdapterOptions,
  trustProxyMode,
} from '@aikit/core/adapter'
import { splitArgs } from '../shared/args.js'

/** Middleware, optionally followed by the adapter options. */
export type MiddlewareAndOptions = Middleware[] | [...Middleware[], AdapterOptions]

/** How `ctx.ip` is resolved on Next (see `WebContext.remoteAddress`). */
export type IpMode = 'none' | 'hops' | 'ranges'

export interface ParsedArgs {
  middleware: Middleware
  /** The same middleware, uncomposed. */
  list: Middleware[]
  options: ResolvedAdapterOptions
  ipMode: IpMode
}

/** Validates the arguments; throws `InvalidOptionsError` naming the bad field. */
export function parseArgs(args: readonly unknown[]): ParsedArgs {
  const { middleware, list, options: raw } = splitArgs<AdapterOptions>(args)
  const options = resolveAdapterOptions(raw)
  // `[]`, `','` and `0` name no proxy: X-Forwarded-For is not read (a client would pick its IP).
  const ipMode: IpMode = trustProxyMode(raw?.trustProxy)
  return { middleware, list, options, ipMode }
}
