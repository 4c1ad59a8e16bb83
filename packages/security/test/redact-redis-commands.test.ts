/**
 * A Redis command's credentials: ioredis rejects a failed command with a ReplyError whose
 * enumerable `command` is `{ name, args }`, the password among the args on a wrong password
 * (observed with ioredis 5 against redis-server 7), and a logger writes the error out whole.
 */
import { describe, expect, it } from 'vitest'
import { redact } from '../src/redact.js'

const SECRET = 'Zq7Secr3tValue9x'

const replyError = (command: { name: string; args: unknown[] }) =>
  Object.assign(new Error('WRONGPASS invalid username-password pair or user is disabled.'), {
    name: 'ReplyError',
    command,
  })

describe('Redis command arguments', () => {
  it('censors the password in the AUTH / HELLO arguments an ioredis ReplyError carries', () => {
    const hello = replyError({ name: 'hello', args: ['3', 'AUTH', 'default', SECRET] })
    const auth = replyError({ name: 'auth', args: [SECRET] })
    expect(JSON.stringify(redact({ err: hello }))).not.toContain(SECRET)
    expect(JSON.stringify(redact({ err: auth }))).not.toContain(SECRET)
    const out = redact({ err: hello }) as { err: { command: unknown; message: string } }
    expect(out.err.command).toEqual({
      name: 'hello',
      args: ['3', 'AUTH', '[redacted]', '[redacted]'],
    })
    expect(out.err.message).toContain('WRONGPASS')
  })

  it('censors CONFIG SET requirepass and ACL SETUSER passwords, other arguments kept', () => {
    expect(
      redact({
        config: { name: 'config', args: ['SET', 'requirepass', SECRET, 'maxmemory', '1mb'] },
        acl: { name: 'acl', args: ['SETUSER', 'app', 'on', `>${SECRET}`, '~*', '+@all'] },
      })
    ).toEqual({
      config: { name: 'config', args: ['SET', 'requirepass', '[redacted]', 'maxmemory', '1mb'] },
      acl: { name: 'acl', args: ['SETUSER', 'app', 'on', '[redacted]', '~*', '+@all'] },
    })
  })

  it('leaves the arguments of other commands alone', () => {
    const command = { name: 'get', args: ['user:1'] }
    expect(redact({ command })).toEqual({ command })
    expect((redact({ command }) as { command: unknown }).command).toBe(command)
  })
})

describe('Redis Sentinel passwords', () => {
  it.each([
    [['set', 'mymaster', 'auth-pass', SECRET]],
    [['SET', 'mymaster', 'down-after-milliseconds', '1000', 'auth-pass', SECRET]],
    [['CONFIG', 'SET', 'sentinel-pass', SECRET]],
  ])('censors the password of SENTINEL %j', (args) => {
    const err = replyError({ name: 'sentinel', args })
    expect(JSON.stringify(redact({ command: err.command }))).not.toContain(SECRET)
    const out = redact({ command: { name: 'sentinel', args } }) as { command: { args: unknown[] } }
    expect(out.command.args.slice(0, -1)).toEqual(args.slice(0, -1))
  })
})
