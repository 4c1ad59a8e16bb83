// Makes sure redis-server and redis-cli are on PATH (the Redis tests start real servers).
// On Debian/Ubuntu as root it installs them with apt-get; elsewhere it says what to install.
import { execSync } from 'node:child_process'

const has = (cmd) => {
  try {
    execSync(`command -v ${cmd}`, { stdio: 'ignore', shell: '/bin/sh' })
    return true
  } catch {
    return false
  }
}

if (has('redis-server') && has('redis-cli')) process.exit(0)

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0
if (!isRoot || !has('apt-get')) {
  console.error(
    'The tests need redis-server and redis-cli (Redis 7) on PATH. Install them, e.g.\n' +
      '  sudo apt-get install -y redis-server    (Debian/Ubuntu)\n' +
      '  brew install redis                      (macOS)'
  )
  process.exit(1)
}
console.log('Installing redis-server with apt-get…')
execSync(
  'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server',
  {
    stdio: 'inherit',
    shell: '/bin/sh',
  }
)
// Debian starts a system redis on 6379 after install; the tests use their own ports.
