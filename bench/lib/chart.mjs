// A horizontal bar chart of the summary ratios as hand-written SVG: one bar per row on a log scale
// (ratios run from ~0.1x to ~30x), a line at 1.0x, each target marked on its row, bars coloured by
// outcome (met, missed, information only).

const esc = (s) =>
  String(s).replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;')

const COLORS = { met: '#2e7d32', missed: '#c62828', info: '#78909c' }

/**
 * @param {Array<{ area: string, benchmark: string, anchorName: string, ratio: number,
 *   target: number | null, targetOp: string, met: boolean | null }>} rows
 * @param {{ title?: string }} [options]
 * @returns {string} an SVG document
 */
export function renderRatioChart(rows, { title = 'AI Kit vs anchors' } = {}) {
  const labelWidth = 620
  const plotWidth = 420
  const valueWidth = 70
  const rowHeight = 22
  const top = 56
  const bottom = 40
  const width = labelWidth + plotWidth + valueWidth + 20
  const height = top + Math.max(rows.length, 1) * rowHeight + bottom

  const values = rows.flatMap((r) => [r.ratio, r.target ?? r.ratio]).filter((v) => v > 0)
  const lo = Math.min(0.1, ...values)
  const hi = Math.max(10, ...values)
  const minLog = Math.floor(Math.log10(lo) * 2) / 2
  const maxLog = Math.ceil(Math.log10(hi) * 2) / 2
  const x = (v) =>
    labelWidth + ((Math.log10(Math.max(v, 10 ** minLog)) - minLog) / (maxLog - minLog)) * plotWidth

  const parts = []
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="12" role="img" aria-label="${esc(title)}">`,
    `<title>${esc(title)}</title>`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="10" y="20" font-size="15" font-weight="600">${esc(title)}</text>`,
    `<text x="10" y="38" fill="#555">ratio of ours to the anchor (log scale); ▼ marks the issue's target; rows marked ≤ are lower-is-better (time, memory)</text>`
  )
  // Grid: powers of ten and halves between them.
  const ticks = []
  for (let e = Math.ceil(minLog); e <= Math.floor(maxLog); e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e
      if (Math.log10(v) >= minLog - 1e-9 && Math.log10(v) <= maxLog + 1e-9) ticks.push(v)
    }
  }
  const plotBottom = top + rows.length * rowHeight
  for (const v of ticks) {
    const px = x(v).toFixed(1)
    parts.push(
      `<line x1="${px}" y1="${top - 4}" x2="${px}" y2="${plotBottom}" stroke="${v === 1 ? '#000' : '#e0e0e0'}" stroke-width="${v === 1 ? 1.5 : 1}"/>`,
      `<text x="${px}" y="${plotBottom + 16}" text-anchor="middle" fill="#333"${v === 1 ? ' font-weight="700"' : ''}>${v >= 1 ? v : v.toFixed(v < 0.1 ? 2 : 1)}x</text>`
    )
  }

  rows.forEach((r, i) => {
    const y = top + i * rowHeight
    const outcome = r.met === null ? 'info' : r.met ? 'met' : 'missed'
    const label = `${r.area}: ${r.benchmark} vs ${r.anchorName}`
    const max = Math.floor((labelWidth - 40) / 7) // ~7 px per character at 12 px
    const shown = label.length > max ? `${label.slice(0, max - 1)}…` : label
    const x0 = x(1)
    const x1 = x(r.ratio)
    parts.push(
      `<g><title>${esc(`${label}: ${r.ratio.toFixed(3)}x${r.target === null ? '' : ` (target ${r.targetOp} ${r.target}x, ${outcome})`}`)}</title>`,
      `<text x="${labelWidth - 8}" y="${y + 15}" text-anchor="end" fill="#222">${esc(shown)}${r.targetOp === '<=' ? ' (≤)' : ''}</text>`,
      `<rect x="${Math.min(x0, x1).toFixed(1)}" y="${y + 4}" width="${Math.max(Math.abs(x1 - x0), 1).toFixed(1)}" height="${rowHeight - 8}" fill="${COLORS[outcome]}" opacity="0.85"/>`,
      `<text x="${labelWidth + plotWidth + 8}" y="${y + 15}" fill="${COLORS[outcome]}" font-weight="600">${r.ratio.toFixed(2)}x</text>`
    )
    if (r.target !== null) {
      const tx = x(r.target)
      parts.push(
        `<path d="M ${(tx - 5).toFixed(1)} ${y + 1} L ${(tx + 5).toFixed(1)} ${y + 1} L ${tx.toFixed(1)} ${y + 9} Z" fill="#000"/>`,
        `<line x1="${tx.toFixed(1)}" y1="${y + 2}" x2="${tx.toFixed(1)}" y2="${y + rowHeight - 2}" stroke="#000" stroke-dasharray="2,2"/>`
      )
    }
    parts.push('</g>')
  })
  // Legend.
  const ly = height - 12
  let lx = 10
  for (const [name, color] of [
    ['target met', COLORS.met],
    ['target missed', COLORS.missed],
    ['no target (information)', COLORS.info],
  ]) {
    parts.push(
      `<rect x="${lx}" y="${ly - 10}" width="12" height="12" fill="${color}"/>`,
      `<text x="${lx + 16}" y="${ly}" fill="#333">${name}</text>`
    )
    lx += 40 + name.length * 6.5
  }
  parts.push('</svg>')
  return `${parts.join('\n')}\n`
}
