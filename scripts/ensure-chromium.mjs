// Makes sure Debian's chromium is installed (the Next example's browser test drives it with
// playwright-core; no browser download). On Debian/Ubuntu as root it installs it with apt-get;
// elsewhere it says what to install and lets the suite go on (the browser test then explains why
// it cannot run, and fails under CI).
import { execSync } from 'node:child_process'
import { existsSync } from 'node:fs'

const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser']
if (candidates.some((path) => path && existsSync(path))) process.exit(0)

const has = (cmd) => {
  try {
    execSync(`command -v ${cmd}`, { stdio: 'ignore', shell: '/bin/sh' })
    return true
  } catch {
    return false
  }
}
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0
if (!isRoot || !has('apt-get')) {
  console.error(
    'The browser test of examples/next-chat needs Chromium. Install it, e.g.\n' +
      '  sudo apt-get install -y chromium        (Debian/Ubuntu)\n' +
      'or point CHROMIUM_PATH at a Chromium binary.'
  )
  process.exit(0)
}
console.log('Installing chromium with apt-get…')
execSync(
  'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium',
  { stdio: 'inherit', shell: '/bin/sh' }
)
