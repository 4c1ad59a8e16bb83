// The OpenAI SDK majors the wrapper supports (peer range `^6 || ^7`), for suites that run once per
// major. openai 7 is installed as the aliased devDependency `openai-v7`.
import OpenAI from 'openai'
import { VERSION as V6 } from 'openai/version'
import OpenAI7 from 'openai-v7'
import { VERSION as V7 } from 'openai-v7/version'

const NODE_MAJOR = Number(process.versions.node.split('.')[0])

/** One OpenAI SDK major. */
export interface OpenAISdk {
  /** `'openai 6'` / `'openai 7'` (the describe name). */
  readonly name: string
  /** The major this entry must be (checked against `version`). */
  readonly major: number
  /** The installed version of that SDK. */
  readonly version: string
  /** Its client class, typed as openai 6's (both majors have the same API; the types of openai 7 are proven in types.test.ts). */
  readonly OpenAI: typeof OpenAI
  /** Whether this Node can run it. */
  readonly runs: boolean
}

export const OPENAI_SDKS: readonly OpenAISdk[] = [
  { name: 'openai 6', major: 6, version: V6, OpenAI, runs: true },
  // openai 7 requires Node 22+ (its engines field): on Node 20 its suites are skipped; CI's Node 24
  // leg (`pnpm test` in .ci/run) runs them, and the Node 20 leg tests openai 6.
  {
    name: 'openai 7',
    major: 7,
    version: V7,
    OpenAI: OpenAI7 as unknown as typeof OpenAI,
    runs: NODE_MAJOR >= 22,
  },
]
