/**
 * @module @aikit/cli
 * `aikit doctor`, the pre-launch checklist, for programmatic use (Node).
 */
export { type DoctorConfig, doctorConfigSchema } from './config.js'
export { formatReport } from './format.js'
export { runDoctor } from './run-doctor.js'
export type { DoctorInput, DoctorItem, DoctorResult, DoctorStatus } from './types.js'
