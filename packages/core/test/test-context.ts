import type { Middleware } from '@aikit/core'
import type { AdapterOptions } from '@aikit/core/adapter'
import {
  BaseContext,
  type PendingResponse,
  resolveAdapterOptions,
  runChain,
} from '@aikit/core/adapter'

/** An in-memory adapter: enough to drive the engine without a server. */
export class TestContext extends BaseContext {
  readonly method: string
  readonly path: string
  readonly query = ''
  downstreamCalls = 0
  written:
    | { status: number; headers: Record<string, string>; text?: string | undefined }
    | undefined
  private readonly headers: Record<string, string>
  private readonly body: Uint8Array
  private readonly remote: string | undefined
  /** Status the fake route answers with. */
  routeStatus = 200

  constructor(
    init: {
      method?: string
      path?: string
      headers?: Record<string, string>
      body?: string | Uint8Array
      remote?: string
      options?: AdapterOptions
    } = {}
  ) {
    super(resolveAdapterOptions(init.options))
    this.method = init.method ?? 'GET'
    this.path = init.path ?? '/'
    this.headers = Object.fromEntries(
      Object.entries(init.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v])
    )
    this.body =
      typeof init.body === 'string'
        ? new TextEncoder().encode(init.body)
        : (init.body ?? new Uint8Array())
    this.remote = init.remote ?? '127.0.0.1'
  }

  header(name: string): string | undefined {
    return this.headers[name.toLowerCase()]
  }
  protected remoteAddress(): string | undefined {
    return this.remote
  }
  protected async readBody(): Promise<Uint8Array> {
    return this.body
  }
  protected async writeResponse(response: PendingResponse): Promise<void> {
    this.writeHead(response.status, response.headers)
    this.written!.text =
      response.body.kind === 'text'
        ? response.body.text
        : response.body.kind === 'empty'
          ? ''
          : undefined
    this.markFinished(false)
  }
  private writeHead(status: number, own: Record<string, string>): void {
    const headers: Record<string, string> = {}
    for (const [k, v] of Object.entries(own)) headers[k.toLowerCase()] = v
    for (const [name, value] of this.beforeHead(status) ?? []) {
      if (!(name.toLowerCase() in headers)) headers[name.toLowerCase()] = value
    }
    this.written = { status, headers }
  }

  /** The promise the fake route returned last (its head is written at once). */
  routeHead: Promise<void> | undefined

  /** `downstreamSettles`: tells runChain that the route's promise never rejects (see runChain). */
  run(middleware: Middleware, downstreamSettles = false): Promise<void> {
    return runChain(
      this,
      middleware,
      () => {
        this.downstreamCalls++
        this.writeHead(this.routeStatus, {})
        this.markFinished(false)
        this.routeHead = Promise.resolve()
        return this.routeHead
      },
      downstreamSettles
    )
  }
}
