/** Starts a node:http server on 127.0.0.1:0 and returns its URL and a `close()` that ends every connection. */
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { ConformanceServer } from './cases.js'

export async function listen(server: Server): Promise<ConformanceServer> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()))
        server.closeAllConnections()
      }),
  }
}
