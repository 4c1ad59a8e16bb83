/**
 * @module redis-url
 * `REDIS_URL` as the probe hands it to ioredis. ioredis reads every query parameter as a client
 * option, and the URL's options win over the ones passed beside it: `?connectTimeout=600000` would
 * lift the probe's bound, `?lazyConnect=` connect before the probe listens, and a string where
 * ioredis expects a number or a function (`?socketTimeout=x`, `?Connector=x`) throws, some of it
 * later, out of any try. Only the parameters that say where and as whom to connect are kept.
 */

/** Query parameters ioredis reads as connection parameters rather than client behaviour. */
const CONNECTION_PARAMS: ReadonlySet<string> = new Set([
  'family',
  'db',
  'username',
  'password',
  'tls',
])

/**
 * `raw` without its fragment and without the query parameters that set client options. The rest is
 * left byte for byte as ioredis would read it (scheme case, user info, host, path), so a URL ioredis
 * cannot read fails here as it fails in the app.
 */
export function probeUrl(raw: string): string {
  const hash = raw.indexOf('#')
  const noFragment = hash === -1 ? raw : raw.slice(0, hash)
  const question = noFragment.indexOf('?')
  if (question === -1) return noFragment
  const kept = new URLSearchParams()
  for (const [key, value] of new URLSearchParams(noFragment.slice(question + 1))) {
    if (CONNECTION_PARAMS.has(key)) kept.append(key, value)
  }
  const base = noFragment.slice(0, question)
  const query = kept.toString()
  return query === '' ? base : `${base}?${query}`
}
