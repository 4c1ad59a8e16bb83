/**
 * Ordinary settings whose names merely end in a credential word (`pad_token`, `eos_token`,
 * `allow_credentials`, `cost_per_token`, `next_page_token`) are left alone by redact() and by the
 * guard's default secret redaction: only strong names count with any prefix (`DB_PASSWORD`,
 * `ANTHROPIC_API_KEY`), and TOKEN / PASS / SIGNATURE / CREDENTIALS only in an upper-case
 * environment-style name (`GITHUB_TOKEN`).
 */
import { describe, expect, it } from 'vitest'
import { promptGuard } from '../src/prompt-guard.js'
import { redact } from '../src/redact.js'

const ORDINARY = [
  // Hugging Face special tokens (tokenizer kwargs and tokenizer_config.json)
  'tokenizer = AutoTokenizer.from_pretrained(name, pad_token="<pad>", eos_token="</s>")',
  '{"bos_token": "<s>", "eos_token": "</s>", "pad_token": "<pad>"}',
  // FastAPI / Starlette CORS config
  'app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_credentials=True)',
  // LLM pricing in a log line
  'model=gpt-4o cost_per_token=0.000002 total=0.004',
  // pagination cursor
  'GET /v1/files?page_size=20&next_page_token=CAEQAA',
]

describe('credential-prefixed false positives', () => {
  it.each(ORDINARY)('redact() leaves ordinary text alone: %s', (text) => {
    expect(redact(text)).toBe(text)
  })

  it.each(ORDINARY)('promptGuard does not rewrite the user prompt: %s', async (text) => {
    const result = await promptGuard().checkInput(`Why does this not work? ${text}`)
    expect(result.text).toBe(`Why does this not work? ${text}`)
  })
})
