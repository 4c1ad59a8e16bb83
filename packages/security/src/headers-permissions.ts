/**
 * @module headers-permissions
 * The `Permissions-Policy` header (helmet does not provide one). A structured-field dictionary:
 * `camera=(), fullscreen=(self), geolocation=("https://maps.example")`.
 */
import { InvalidOptionsError } from '@aikit/core'

/** An allow-list: `[]` (nobody), `'*'` (everyone), or `'self'` / `'src'` / origins. */
export type PermissionsAllowList = '*' | readonly string[]

/** `Permissions-Policy` options. */
export interface PermissionsPolicyOptions {
  /** Feature → allow-list, merged over the preset (unless `useDefaults` is false). @default {} */
  features?: Record<string, PermissionsAllowList>
  /** Start from `PERMISSIONS_POLICY_PRESET`. @default true */
  useDefaults?: boolean
}
export const PERMISSIONS_POLICY_KEYS = Object.keys({
  features: true,
  useDefaults: true,
} satisfies Record<keyof PermissionsPolicyOptions, true>)

/**
 * The opt-in preset: powerful features an AI chat app rarely needs are denied to every origin;
 * fullscreen, Web Share and passkeys stay available to the page itself. Give
 * `features: { microphone: ['self'] }` for voice input.
 */
export const PERMISSIONS_POLICY_PRESET: Readonly<Record<string, PermissionsAllowList>> =
  Object.freeze({
    accelerometer: [],
    autoplay: [],
    bluetooth: [],
    camera: [],
    'display-capture': [],
    fullscreen: ['self'],
    geolocation: [],
    gyroscope: [],
    hid: [],
    'idle-detection': [],
    magnetometer: [],
    microphone: [],
    midi: [],
    payment: [],
    'publickey-credentials-get': ['self'],
    'screen-wake-lock': [],
    serial: [],
    usb: [],
    'web-share': ['self'],
    'xr-spatial-tracking': [],
  })

const FEATURE = /^[a-z][a-z0-9-]*$/
const ORIGIN = /^https?:\/\/(?:\*\.)?[A-Za-z0-9.-]+(?::\d{1,5})?$/

/** Builds the header value; throws `InvalidOptionsError` naming the bad feature or origin. */
export function permissionsPolicyValue(o: PermissionsPolicyOptions, field: string): string {
  const features = o.features ?? {}
  if (typeof features !== 'object' || features === null || Array.isArray(features)) {
    throw new InvalidOptionsError(`${field}.features`, 'must be an object of feature → allow-list')
  }
  if (o.useDefaults !== undefined && typeof o.useDefaults !== 'boolean') {
    throw new InvalidOptionsError(`${field}.useDefaults`, 'must be a boolean')
  }
  const merged: Record<string, PermissionsAllowList> = {
    ...(o.useDefaults === false ? {} : PERMISSIONS_POLICY_PRESET),
    ...features,
  }
  const parts: string[] = []
  for (const name of Object.keys(merged)) {
    const at = `${field}.features.${name}`
    if (!FEATURE.test(name)) throw new InvalidOptionsError(at, 'is not a valid feature name')
    const list = merged[name]
    if (list === '*') {
      parts.push(`${name}=*`)
      continue
    }
    if (!Array.isArray(list)) throw new InvalidOptionsError(at, "must be '*' or an array")
    const items: string[] = []
    for (const item of list as unknown[]) {
      if (item === 'self' || item === 'src') items.push(item)
      else if (typeof item === 'string' && ORIGIN.test(item)) items.push(`"${item}"`)
      else throw new InvalidOptionsError(at, "entries must be 'self', 'src' or an http(s) origin")
    }
    parts.push(`${name}=(${items.join(' ')})`)
  }
  if (parts.length === 0) throw new InvalidOptionsError(`${field}.features`, 'is empty')
  return parts.join(', ')
}
