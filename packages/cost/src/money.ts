/**
 * @module money
 * Micro-dollar formatting (exact: integer arithmetic, no floats).
 */

/** `1234567` → `'1.234567'`; negative amounts keep their sign. */
export function formatUsd(micros: number): string {
  const sign = micros < 0 ? '-' : ''
  const abs = Math.abs(Math.trunc(micros))
  const whole = Math.floor(abs / 1_000_000)
  const frac = String(abs % 1_000_000).padStart(6, '0')
  return `${sign}${whole}.${frac}`
}
