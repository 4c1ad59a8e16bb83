/**
 * @module llm/stable-stringify
 * Canonical JSON: object keys sorted, `undefined` members dropped (as `JSON.stringify` does), so two
 * requests that differ only in key order produce the same text.
 */

/** Canonical JSON text of `value`. Throws `TypeError` on cycles, BigInt or functions inside arrays. */
export function stableStringify(value: unknown): string {
  return write(value, new Set())
}

function write(value: unknown, seen: Set<object>): string {
  if (value === null) return 'null'
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value)
    case 'number':
      // -0 and 0 are the same parameter value; non-finite numbers become null as in JSON.
      return Number.isFinite(value) ? JSON.stringify(value === 0 ? 0 : value) : 'null'
    case 'boolean':
      return value ? 'true' : 'false'
    case 'undefined':
    case 'function':
    case 'symbol':
      return 'null'
    case 'bigint':
      throw new TypeError('stableStringify: BigInt is not supported')
  }
  const obj = value as object
  if (seen.has(obj)) throw new TypeError('stableStringify: circular structure')
  const toJSON = (obj as { toJSON?: unknown }).toJSON
  if (typeof toJSON === 'function') return write(toJSON.call(obj), seen)
  seen.add(obj)
  let out: string
  if (Array.isArray(obj)) {
    out = `[${obj.map((item) => write(item, seen)).join(',')}]`
  } else if (obj instanceof Uint8Array) {
    out = JSON.stringify(Array.from(obj))
  } else {
    const record = obj as Record<string, unknown>
    const parts: string[] = []
    for (const key of Object.keys(record).sort()) {
      const member = record[key]
      if (member === undefined || typeof member === 'function' || typeof member === 'symbol')
        continue
      parts.push(`${JSON.stringify(key)}:${write(member, seen)}`)
    }
    out = `{${parts.join(',')}}`
  }
  seen.delete(obj)
  return out
}
