import type { Middleware } from '@aikit/core'
import type { AdapterOptions } from '@aikit/core/adapter'
import {
  BaseContext,
  type PendingResponse,
  resolveAdapterOptions,
  runChain,
} from '@aikit/core/adapter'

/** An in-memory adapter (a minimal copy of core's test context): drives a middleware, no server. */
export class TestContext extends BaseContext {
  readonly method: string
  readonly path: string
  readonly query = ''
  downstreamCalls = 0
  written:
    | { status: number; headers: Record<string, string>; text?: string | undefined }
    | undefined
  private readonly headers: Record<string, string>
  private readonly remote: string | undefined

  constructor(
    init: {
      method?: string
      path?: string
      headers?: Record<string, string>
      /** Remote address; `null` for none. Default `127.0.0.1`. */
      remote?: string | null
      options?: AdapterOptions
    } = {}
  ) {
    super(resolveAdapterOptions(init.options))
    this.method = init.method ?? 'GET'
    this.path = init.path ?? '/'
    this.headers = Object.fromEntries(
      Object.entries(init.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v])
    )
    this.remote = init.remote === null ? undefined : (init.remote ?? '127.0.0.1')
  }

  header(name: string): string | undefined {
    return this.headers[name.toLowerCase()]
  }
  protected remoteAddress(): string | undefined {
    return this.remote
  }
  protected async readBody(): Promise<Uint8Array> {
    return new Uint8Array()
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

  run(middleware: Middleware): Promise<void> {
    return runChain(this, middleware, async () => {
      this.downstreamCalls++
      this.writeHead(200, {})
      this.markFinished(false)
    })
  }
}
