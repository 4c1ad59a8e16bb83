// Quickstart server: `node server.mjs` (PORT and HOST from the environment; empty means unset).
import { createServer } from 'node:http'
import { app } from './app.mjs'
import { modelName } from './model.mjs'

const port = Number(process.env.PORT || 3000)
const host = process.env.HOST || '127.0.0.1'
const server = createServer(app)
server.listen(port, host, () => {
  // The port actually bound (PORT=0 picks a free one).
  const { port: bound } = /** @type {import('node:net').AddressInfo} */ (server.address())
  const shown = host.includes(':') ? `[${host}]` : host
  process.stdout.write(`AI Kit quickstart on http://${shown}:${bound} (model: ${modelName()})\n`)
})
