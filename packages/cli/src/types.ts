/**
 * @module types
 * What the doctor reads and what it reports.
 */
import type { EnvIssue } from '@aikit/core/env'
import type { DoctorConfig } from './config.js'

/** The verdict of one checklist item. */
export type DoctorStatus = 'PASS' | 'WARN' | 'FAIL'

/** One line of the pre-launch checklist. */
export interface DoctorItem {
  /** Stable id, e.g. `cors`, `rate-limit` (for `--json` consumers and docs). */
  readonly id: string
  /** What is checked, in a few words. */
  readonly title: string
  readonly status: DoctorStatus
  /** What was found. Names variables and fields, never a variable's value. */
  readonly detail: string
  /** One line saying how to fix it; present on WARN and FAIL. */
  readonly fix?: string
}

/** What `runDoctor` reads. */
export interface DoctorInput {
  /**
   * The environment to check (the CLI passes `process.env` merged with `--env-file`).
   * @default process.env
   */
  env?: Readonly<Record<string, string | undefined>>
  /**
   * The app's kit configuration (`aikit.config.mjs`'s default export), checked against
   * `doctorConfigSchema`. `undefined`: no configuration given; config-based items then see
   * nothing configured. @default undefined
   */
  config?: unknown
}

/** The keys of `DoctorInput`: `runDoctor` refuses any other (a misspelt `env` would check `process.env`). */
export const DOCTOR_INPUT_KEYS = ['env', 'config'] as const satisfies readonly (keyof DoctorInput)[]

/** Options of `runDoctorOnline`: how the checks that connect to services do it. */
export interface DoctorOnlineOptions {
  /**
   * How long the Redis check may take in all (connect, AUTH, INFO), in ms: an integer from 1 to
   * 60 000. @default 3000
   */
  timeoutMs?: number
  /**
   * The app's directory: its ioredis is used to connect (else the one beside the doctor).
   * @default process.cwd()
   */
  cwd?: string
}

/** The keys of `DoctorOnlineOptions`. */
export const DOCTOR_ONLINE_OPTION_KEYS = [
  'timeoutMs',
  'cwd',
] as const satisfies readonly (keyof DoctorOnlineOptions)[]

/** The result of `runDoctor`. */
export interface DoctorResult {
  /** Every checklist item, in a fixed order. */
  readonly items: readonly DoctorItem[]
  /** False when any item is `FAIL` (the CLI then exits 1). */
  readonly ok: boolean
}

/** What every check reads: the input, digested once. */
export interface Facts {
  /** The environment, with empty strings removed (an empty variable counts as unset). */
  readonly env: Readonly<Record<string, string>>
  /** `NODE_ENV === 'production'`: several items are stricter then. */
  readonly production: boolean
  /** Whether a configuration was given at all. */
  readonly configGiven: boolean
  /** The valid part of the configuration (invalid and unknown fields removed). */
  readonly config: DoctorConfig
  /** Top-level configuration fields that failed validation. */
  readonly invalidFields: ReadonlySet<string>
  /** `field.path: reason` for every configuration problem. */
  readonly configProblems: readonly string[]
  /** What `defineEnv(aikitEnv)` reported; empty when the environment validates. */
  readonly envIssues: readonly EnvIssue[]
}

/** A check turns the facts into one checklist item. */
export type Check = (facts: Facts) => DoctorItem
