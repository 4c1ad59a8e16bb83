/**
 * @module compress/content-type
 * Which media types are worth compressing: text and structured text. Images (other than SVG),
 * audio, video, fonts in woff/woff2 and archives are already compressed; compressing them again
 * costs CPU for nothing.
 */

const COMPRESSIBLE =
  /^(?:text\/|application\/(?:json|javascript|ecmascript|x-javascript|xml|xhtml\+xml|rss\+xml|atom\+xml|graphql-response\+json|x-ndjson|ndjson|jsonl|wasm|x-www-form-urlencoded|manifest\+json|ld\+json|problem\+json|problem\+xml|vnd\.api\+json)$|image\/(?:svg\+xml|x-icon|vnd\.microsoft\.icon|bmp)$|font\/(?:ttf|otf|collection)$)|[+](?:json|xml)$/

/** The media type of a Content-Type header: lower-case, parameters removed. */
export function mediaType(contentType: string): string {
  const semi = contentType.indexOf(';')
  return (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase()
}

/**
 * The default `filter` of `compress()`: true for `text/*` (HTML, CSS, plain, `text/event-stream`),
 * JSON and `+json`, JavaScript, XML and `+xml` (SVG included), NDJSON, wasm.
 */
export function isCompressibleType(type: string): boolean {
  return COMPRESSIBLE.test(type)
}
