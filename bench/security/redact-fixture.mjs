// A typical request log line (pino-http shape) with secrets in headers, in a body field and in a
// free-form string. Fakes are built at runtime so secret scanners do not flag this file.
export const ANTHROPIC_KEY = `sk-ant-api03-${'a1B2c3D4e5'.repeat(9)}xyzAA`

export function logObject(i, secretInBody = true) {
  return {
    level: 30,
    time: 1764000000000 + i,
    pid: 4242,
    hostname: 'api-7f9c',
    reqId: `req-${i}`,
    req: {
      id: `req-${i}`,
      method: 'POST',
      url: '/api/chat?stream=true&model=claude-sonnet',
      query: { stream: 'true', model: 'claude-sonnet' },
      headers: {
        host: 'api.example.com',
        'user-agent':
          'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/150.0 Safari/537.36',
        accept: 'text/event-stream',
        'accept-encoding': 'gzip, br',
        'accept-language': 'en-GB,en;q=0.9',
        'content-type': 'application/json',
        'content-length': '412',
        authorization:
          'Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyLTQyIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ',
        cookie: 'sid=s%3Aabcdef0123456789.sig; theme=dark',
        'x-api-key': ANTHROPIC_KEY,
        'x-request-id': `req-${i}`,
      },
      remoteAddress: '10.0.3.17',
      remotePort: 51234,
    },
    res: {
      statusCode: 200,
      headers: {
        'content-type': 'text/event-stream',
        'x-request-id': `req-${i}`,
        'set-cookie': ['sid=s%3Anewsession.sig; Path=/; HttpOnly; Secure'],
      },
    },
    user: { id: 'user-42', plan: 'pro', password: 'hunter2' },
    body: {
      model: 'claude-sonnet-4',
      max_tokens: 1024,
      messages: [
        {
          role: 'user',
          content: secretInBody
            ? `my key is ${ANTHROPIC_KEY}, why does it fail?`
            : 'why does my request to the messages API fail with a 401?',
        },
      ],
    },
    responseTime: 812,
    msg: 'request completed',
  }
}

/** pino paths equivalent to the default key names on this object. */
export const PINO_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  'user.password',
]
