/**
 * @module compression
 * Optional gzip of large payloads with the Web `CompressionStream` (Node 18+, Deno, Bun, Edge), so
 * the main entry stays edge-safe. Compressed bytes are stored as base64 text (store values are strings).
 */

async function pipe(bytes: Uint8Array, stream: GenericTransformStream): Promise<Uint8Array> {
  const body = new Blob([bytes as BlobPart]).stream().pipeThrough(stream as TransformStream)
  return new Uint8Array(await new Response(body).arrayBuffer())
}

/** Base64 of bytes (edge-safe: `btoa`). */
export function toBase64(bytes: Uint8Array): string {
  let binary = ''
  const chunk = 0x8000
  for (let i = 0; i < bytes.length; i += chunk) {
    binary += String.fromCharCode(...bytes.subarray(i, i + chunk))
  }
  return btoa(binary)
}

/** Inverse of `toBase64`. */
export function fromBase64(text: string): Uint8Array {
  const binary = atob(text)
  const bytes = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
  return bytes
}

/** gzip + base64 of a UTF-8 text. */
export async function gzipText(text: string): Promise<string> {
  return toBase64(await pipe(new TextEncoder().encode(text), new CompressionStream('gzip')))
}

/** Inverse of `gzipText`. */
export async function gunzipText(base64: string): Promise<string> {
  return new TextDecoder().decode(await pipe(fromBase64(base64), new DecompressionStream('gzip')))
}
