/**
 * @module validate-path
 * What an issue's path may show the client. A zod path names every key it went through: the keys
 * an object schema declares are the app's own words, but the keys of a record, a map or an
 * object's catchall are the client's, and a client key can hold anything (an API key, markup).
 * The path is walked through the schema's zod 4 definition (`_zod.def`): a segment stays when the
 * schema declares it (an object's shape key, an enum key of a record, an array or tuple index),
 * and reads `*` otherwise. A schema that is not zod 4 (nothing to walk) shows only `*`.
 */

/** The fields of a zod 4 definition this walk reads; every one is optional on purpose. */
interface ZodDef {
  readonly type?: string
  readonly shape?: Record<PropertyKey, unknown>
  readonly catchall?: unknown
  readonly keyType?: { _zod?: { values?: ReadonlySet<unknown> } }
  readonly valueType?: unknown
  readonly element?: unknown
  readonly items?: readonly unknown[]
  readonly rest?: unknown
  readonly innerType?: unknown
  readonly in?: unknown
  readonly out?: unknown
  readonly left?: unknown
  readonly right?: unknown
  readonly options?: readonly unknown[]
  readonly getter?: () => unknown
}

/** The segment shown for a key the schema does not declare. */
export const HIDDEN_SEGMENT = '*'
const MAX_SEGMENT = 64
// A union of unions of lazies could fan out without end: past this many candidate schemas for
// one segment, the rest are not followed (their keys read `*`, the safe side).
const MAX_CANDIDATES = 32

function defOf(schema: unknown): ZodDef | undefined {
  if (typeof schema !== 'object' || schema === null) return undefined
  const internals = (schema as { _zod?: { def?: unknown } })._zod
  const def = internals?.def
  return typeof def === 'object' && def !== null ? (def as ZodDef) : undefined
}

/** Adds the structural schemas `schema` stands for (wrappers, unions and pipes opened). */
function expand(schema: unknown, out: Set<unknown>, seen: Set<unknown>): void {
  if (out.size >= MAX_CANDIDATES || seen.has(schema)) return
  seen.add(schema)
  const def = defOf(schema)
  if (def === undefined) return
  switch (def.type) {
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'nonoptional':
    case 'catch':
    case 'readonly':
    case 'promise':
      expand(def.innerType, out, seen)
      return
    case 'pipe':
      expand(def.in, out, seen)
      expand(def.out, out, seen)
      return
    case 'lazy':
      if (typeof def.getter === 'function') expand(def.getter(), out, seen)
      return
    case 'union':
      for (const option of def.options ?? []) expand(option, out, seen)
      return
    case 'intersection':
      expand(def.left, out, seen)
      expand(def.right, out, seen)
      return
    case 'set':
      // A set's element issues carry no segment of their own.
      expand(def.valueType, out, seen)
      return
    default:
      out.add(schema)
  }
}

/** Whether one of `candidates` declares `segment`, and the schemas the path goes on into. */
function step(
  candidates: Set<unknown>,
  segment: PropertyKey
): { declared: boolean; next: unknown[] } {
  let declared = false
  const next: unknown[] = []
  for (const schema of candidates) {
    const def = defOf(schema)
    switch (def?.type) {
      case 'object':
        if (
          typeof segment === 'string' &&
          def.shape !== undefined &&
          Object.hasOwn(def.shape, segment)
        ) {
          declared = true
          next.push(def.shape[segment])
        } else if (def.catchall !== undefined) next.push(def.catchall)
        break
      case 'record':
        if (def.keyType?._zod?.values?.has(segment)) declared = true
        next.push(def.valueType)
        break
      case 'map':
        next.push(def.valueType)
        break
      case 'array':
        if (typeof segment === 'number') {
          declared = true
          next.push(def.element)
        }
        break
      case 'tuple':
        if (typeof segment === 'number') {
          declared = true
          next.push(def.items?.[segment] ?? def.rest)
        }
        break
    }
  }
  return { declared, next }
}

/** The path of an issue as the client may see it: undeclared segments read `*`, long ones cut. */
export function clientPath(schema: unknown, path: readonly PropertyKey[]): (string | number)[] {
  let candidates = new Set<unknown>()
  expand(schema, candidates, new Set())
  return path.map((segment) => {
    const { declared, next } = step(candidates, segment)
    candidates = new Set()
    const seen = new Set<unknown>()
    for (const schema of next) expand(schema, candidates, seen)
    if (!declared) return HIDDEN_SEGMENT
    return typeof segment === 'number'
      ? segment
      : String(typeof segment === 'symbol' ? segment.description : segment).slice(0, MAX_SEGMENT)
  })
}
