/**
 * The scrape body, in both the Prometheus text format and OpenMetrics, parses under a strict
 * parser (names, label escaping, one group per family, `# EOF` where due) and gives back the exact
 * label values a client or a provider can make awkward (backslash, double quote, newline, unicode),
 * with exact counts.
 */
import type { Context } from '@aikit/core'
import { createMetrics, httpMetrics, metricsHandler } from '@aikit/observability'
import { type OpenMetricsContentType, Registry } from 'prom-client'
import { afterAll, describe, expect, it } from 'vitest'
import { closeAll, nodeApp } from './servers.js'

afterAll(closeAll)

interface Parsed {
  name: string
  labels: Record<string, string>
  value: number
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/
const VALUE = /^(?:[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]Inf|NaN)$/i

/** Strict line parser: throws on anything promtool / the OM ABNF would refuse. */
function parseLine(line: string): Parsed {
  const n = NAME.exec(line)
  if (!n) throw new Error(`bad name: ${line}`)
  let i = n[0].length
  const labels: Record<string, string> = {}
  if (line[i] === '{') {
    i++
    while (line[i] !== '}') {
      const ln = LABEL_NAME.exec(line.slice(i))
      if (!ln) throw new Error(`bad label name at ${i}: ${line}`)
      i += ln[0].length
      if (line[i] !== '=' || line[i + 1] !== '"') throw new Error(`bad label: ${line}`)
      i += 2
      let v = ''
      for (;;) {
        const c = line[i]
        if (c === undefined) throw new Error(`unterminated: ${line}`)
        if (c === '"') break
        if (c === '\\') {
          const e = line[i + 1]
          if (e === 'n') v += '\n'
          else if (e === '\\') v += '\\'
          else if (e === '"') v += '"'
          else throw new Error(`bad escape \\${e}: ${line}`)
          i += 2
          continue
        }
        v += c
        i++
      }
      i++
      if (Object.hasOwn(labels, ln[0])) throw new Error(`duplicate label ${ln[0]}: ${line}`)
      labels[ln[0]] = v
      if (line[i] === ',') i++
      else if (line[i] !== '}') throw new Error(`bad label separator: ${line}`)
    }
    i++
  }
  if (line[i] !== ' ') throw new Error(`no space before value: ${line}`)
  const rest = line.slice(i + 1).split(' ')
  if (!VALUE.test(rest[0]!)) throw new Error(`bad value "${rest[0]}": ${line}`)
  return { name: n[0], labels, value: rest[0] === 'NaN' ? Number.NaN : Number(rest[0]) }
}

/** Checks a whole body; returns samples. `om`: OpenMetrics rules (family suffixes, # EOF). */
function strictParse(body: string, om: boolean): Parsed[] {
  const lines = body.split('\n')
  if (om) {
    expect(lines.at(-1)).toBe('')
    expect(lines.at(-2)).toBe('# EOF')
    lines.splice(-2)
  }
  const samples: Parsed[] = []
  const seenFamilies = new Set<string>()
  const seenSeries = new Set<string>()
  let family: { name: string; type: string } | undefined
  for (const line of lines) {
    if (line === '') {
      if (om) throw new Error('empty line in OpenMetrics')
      continue
    }
    if (line.startsWith('# HELP ') || line.startsWith('# TYPE ')) {
      const [, kind, name, type] = line.split(' ')
      if (!NAME.test(name!)) throw new Error(`bad family name ${line}`)
      if (kind === 'TYPE') {
        if (seenFamilies.has(name!)) throw new Error(`family ${name} twice`)
        seenFamilies.add(name!)
        family = { name: name!, type: type! }
      }
      continue
    }
    if (line.startsWith('#')) continue
    const s = parseLine(line)
    const suffixes =
      family?.type === 'histogram'
        ? ['_bucket', '_sum', '_count']
        : family?.type === 'counter' && om
          ? ['_total']
          : ['']
    if (!family || !suffixes.some((x) => s.name === family!.name + x)) {
      throw new Error(`sample ${s.name} outside its family (${family?.name})`)
    }
    const key = `${s.name}${JSON.stringify(Object.entries(s.labels).sort())}`
    if (seenSeries.has(key)) throw new Error(`duplicate series ${line}`)
    seenSeries.add(key)
    samples.push(s)
  }
  // histograms: le ascending, cumulative, +Inf == _count, per series
  const byName = new Map<string, Parsed[]>()
  for (const s of samples.filter((x) => x.name.endsWith('_bucket'))) {
    const { le, ...rest } = s.labels
    const k = `${s.name}${JSON.stringify(Object.entries(rest).sort())}`
    byName.set(k, [...(byName.get(k) ?? []), s])
  }
  for (const [k, buckets] of byName) {
    const les = buckets.map((b) => (b.labels.le === '+Inf' ? Infinity : Number(b.labels.le)))
    expect(les, k).toEqual([...les].sort((a, b) => a - b))
    expect(les.at(-1), k).toBe(Infinity)
    for (let j = 1; j < buckets.length; j++) {
      expect(buckets[j]!.value, k).toBeGreaterThanOrEqual(buckets[j - 1]!.value)
    }
    const { le: _le, ...rest } = buckets[0]!.labels
    const countName = buckets[0]!.name.replace(/_bucket$/, '_count')
    const count = samples.find(
      (s) =>
        s.name === countName &&
        JSON.stringify(Object.entries(s.labels).sort()) ===
          JSON.stringify(Object.entries(rest).sort())
    )
    expect(count?.value, k).toBe(buckets.at(-1)!.value)
  }
  return samples
}

const AWKWARD = ['/a\\b', '/q"uote', '/new\nline', '/ünï/😀', '/back\\"both\\n', '/tab\there']

describe.each([
  ['a Prometheus registry', () => undefined],
  [
    'an OpenMetrics registry',
    () => {
      const registry = new Registry<OpenMetricsContentType>()
      registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE)
      return registry
    },
  ],
])('strict parse of a scrape from %s', (_label, makeRegistry) => {
  it('both formats parse strictly and give back the exact label values, with exact counts', async () => {
    const registry = makeRegistry()
    const metrics = createMetrics(registry ? { registry } : { key: false })
    metrics.registry.setDefaultLabels({ service: 'svc"\\\n' })
    const route = (ctx: Context) => {
      const k = /^\/items\/(\d+)$/.exec(ctx.path)
      return k ? AWKWARD[Number(k[1]) % AWKWARD.length] : undefined
    }
    const base = await nodeApp([httpMetrics(metrics, { route }), metricsHandler(metrics)])
    for (let k = 0; k < AWKWARD.length * 2; k++) await (await fetch(`${base}/items/${k}`)).text()
    for (const model of AWKWARD) {
      metrics.recordLlmCall({
        provider: 'anthropic',
        model,
        durationSeconds: 1.5,
        usage: { inputTokens: 3, outputTokens: 4 },
        costUsd: 0.25,
      })
      metrics.recordCache({ result: 'hit', cache: model })
    }
    for (const [accept, om] of [
      ['text/plain;version=0.0.4', false],
      ['application/openmetrics-text;version=1.0.0', true],
    ] as const) {
      const res = await fetch(`${base}/metrics`, { headers: { accept } })
      const body = await res.text()
      const samples = strictParse(body, om)
      for (const r of AWKWARD) {
        const c = samples.filter(
          (s) =>
            s.name === 'http_server_request_duration_seconds_count' && s.labels.http_route === r
        )
        expect(
          c.map((s) => [s.value, s.labels.service]),
          r
        ).toEqual([[2, 'svc"\\\n']])
        const cost = samples.filter(
          (s) => s.name === 'aikit_llm_cost_usd_total' && s.labels.gen_ai_request_model === r
        )
        expect(
          cost.map((s) => s.value),
          r
        ).toEqual([0.25])
      }
    }
  })
})
