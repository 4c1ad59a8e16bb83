/**
 * @module @aikit/cli
 * `aikit doctor`, the pre-launch checklist, for programmatic use (Node).
 */
export { type DoctorConfig, doctorConfigSchema } from './config.js'
export { formatReport } from './format.js'
export { runDoctor, runDoctorOnline } from './run-doctor.js'
export type {
  DoctorInput,
  DoctorItem,
  DoctorOnlineOptions,
  DoctorResult,
  DoctorStatus,
} from './types.js'
