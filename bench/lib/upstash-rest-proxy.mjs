// A tiny stand-in for Upstash's REST API on 127.0.0.1, so @upstash/redis (and @upstash/ratelimit on
// top of it) can run against a local redis-server: a benchmark never reaches the network. It
// speaks the subset @upstash/redis 1.x uses (see its HttpClient.request and Pipeline.exec):
//   POST /            body: a command array, e.g. ["EVALSHA", sha, 1, "key", "arg"]
//                     → 200 {"result": ...} or 400 {"error": "NOSCRIPT ..."}
//   POST /pipeline    body: an array of command arrays → 200 [{"result"}|{"error"}, ...]
//   POST /multi-exec  the same, run in MULTI/EXEC
// Upstash's scripts start with `#!lua flags=allow-key-locking`, a flag only Upstash's server knows:
// the proxy drops that flag from EVAL scripts and maps the client's EVALSHA hash (of the original
// text) to the hash of the script redis-server actually loaded.
// With the request header `Upstash-Encoding: base64`, every string in a result (nested arrays
// included) is sent base64-encoded, as the client decodes them. Authorization is not checked.
// Every command goes through one ioredis client (auto-pipelined), as Upstash's own server would
// multiplex them.
import { createHash } from 'node:crypto'
import { createServer } from 'node:http'
import { Redis } from 'ioredis'

const encode = (value) => {
  if (typeof value === 'string') return Buffer.from(value).toString('base64')
  if (Array.isArray(value)) return value.map(encode)
  return value ?? null
}

const args = (command) => command.slice(1).map((a) => (a === null ? '' : String(a)))
const sha1 = (text) => createHash('sha1').update(text).digest('hex')
const UPSTASH_FLAG = /^#!lua flags=([^\n]*)/

/** original script hash → hash of the script as loaded into redis-server (flag removed) */
const shaMap = new Map()

/** Rewrites EVAL / EVALSHA / SCRIPT LOAD for a stock redis-server; other commands unchanged. */
function translate(command) {
  const name = String(command[0]).toUpperCase()
  if (
    (name === 'EVAL' || (name === 'SCRIPT' && String(command[1]).toUpperCase() === 'LOAD')) &&
    command.length > 1
  ) {
    const at = name === 'EVAL' ? 1 : 2
    const script = String(command[at])
    const m = UPSTASH_FLAG.exec(script)
    if (!m) return command
    const flags = m[1]
      .split(',')
      .filter((f) => f.trim() !== 'allow-key-locking')
      .join(',')
    const rewritten = script.replace(UPSTASH_FLAG, flags ? `#!lua flags=${flags}` : '#!lua')
    shaMap.set(sha1(script), sha1(rewritten))
    const copy = [...command]
    copy[at] = rewritten
    return copy
  }
  if (name === 'EVALSHA' && shaMap.has(String(command[1]))) {
    const copy = [...command]
    copy[1] = shaMap.get(String(command[1]))
    return copy
  }
  return command
}

/**
 * Starts the proxy in front of `redisUrl`.
 * @returns {Promise<{ url: string, close(): Promise<void> }>}
 */
export async function startUpstashRestProxy(redisUrl) {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1, enableAutoPipelining: true })
  const run = async (original) => {
    const command = translate(original)
    try {
      return { result: await redis.call(String(command[0]), ...args(command)) }
    } catch (error) {
      return { error: String(error?.message ?? error) }
    }
  }
  const server = createServer((req, res) => {
    const chunks = []
    req.on('data', (c) => chunks.push(c))
    req.on('end', async () => {
      const base64 = String(req.headers['upstash-encoding'] ?? '').toLowerCase() === 'base64'
      const out = (r) => (base64 && 'result' in r ? { result: encode(r.result) } : r)
      const send = (status, body) => {
        res.writeHead(status, { 'content-type': 'application/json' })
        res.end(JSON.stringify(body))
      }
      let body
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'))
      } catch {
        return send(400, { error: 'ERR invalid JSON body' })
      }
      const path = (req.url ?? '/').split('?')[0]
      if (path === '/pipeline') {
        const results = await Promise.all(body.map(run))
        return send(200, results.map(out))
      }
      if (path === '/multi-exec') {
        try {
          const commands = body.map(translate).map((c) => [String(c[0]), ...args(c)])
          const replies = await redis.multi(commands).exec()
          return send(
            200,
            replies.map(([error, result]) => out(error ? { error: error.message } : { result }))
          )
        } catch (error) {
          return send(400, { error: String(error?.message ?? error) })
        }
      }
      if (path === '/' || path === '') {
        const r = await run(body)
        return send('error' in r ? 400 : 200, out(r))
      }
      return send(404, { error: `ERR unknown path ${path}` })
    })
  })
  server.keepAliveTimeout = 60_000
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    close: async () => {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
      redis.disconnect()
    },
  }
}
