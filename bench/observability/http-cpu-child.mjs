// One variant of http-cpu.mjs: the app (app.mjs) and its load generator in the same process.
// `node http-cpu-child.mjs <variant>`; each `drive <requests> <connections>` line on stdin answers
// one JSON line on file descriptor 3 with this process's CPU per request over those requests.
// The client is a few raw keep-alive sockets writing prepared GETs (one in flight per socket):
// its cost is the same for every variant, so differences between variants are the server's.
import { writeSync } from 'node:fs'
import { connect } from 'node:net'
import { startApp } from './app.mjs'

const port = await startApp(process.argv[2] ?? '')
const REQUESTS = [1, 2, 3, 4].map((id) =>
  Buffer.from(`GET /items/${id} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`)
)
const OK = 'HTTP/1.1 200 '

/** Sends `total` GETs over `connections` sockets; resolves once every 200 came back. */
function drive(total, connections) {
  return new Promise((resolve, reject) => {
    let sent = 0
    let received = 0
    const sockets = []
    const timer = setTimeout(() => {
      for (const s of sockets) s.destroy()
      reject(new Error(`only ${received} of ${total} responses were 200`))
    }, 120_000)
    for (let c = 0; c < connections && sent < total; c++) {
      const socket = connect(port, '127.0.0.1')
      socket.setNoDelay(true)
      sockets.push(socket)
      let tail = ''
      socket.on('data', (chunk) => {
        // Counts status lines; a line split between chunks is found through the kept tail.
        const text = tail + chunk.latin1Slice(0, chunk.length)
        let at = text.indexOf(OK)
        while (at !== -1) {
          received++
          if (sent < total) socket.write(REQUESTS[sent++ & 3])
          at = text.indexOf(OK, at + OK.length)
        }
        tail = text.slice(-(OK.length - 1))
        if (received === total) {
          clearTimeout(timer)
          for (const s of sockets) s.destroy()
          resolve()
        }
      })
      socket.on('error', reject)
      socket.write(REQUESTS[sent++ & 3])
    }
  })
}

process.stdin.setEncoding('utf8')
let queue = Promise.resolve()
process.stdin.on('data', (chunk) => {
  for (const line of chunk.split('\n')) {
    const [cmd, total, connections] = line.trim().split(' ')
    if (cmd !== 'drive') continue
    queue = queue.then(async () => {
      const before = process.cpuUsage()
      await drive(Number(total), Number(connections))
      const used = process.cpuUsage(before)
      writeSync(3, `${JSON.stringify({ cpuPerReq: (used.user + used.system) / Number(total) })}\n`)
    })
  }
})
writeSync(3, `${port}\n`)
process.on('SIGTERM', () => process.exit(0))
