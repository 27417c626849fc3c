/** Plain-text tables for terminal summaries. */

/** Formats rows as an aligned text table; numbers get `digits` decimals. */
export function formatTable(header: readonly string[], rows: readonly (readonly (string | number)[])[], digits = 3): string {
  const cells = [header.map(String), ...rows.map((r) => r.map((v) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(digits)) : v)))];
  const widths = header.map((_, j) => Math.max(...cells.map((r) => r[j].length)));
  const line = (r: string[]) => r.map((c, j) => (j === 0 ? c.padEnd(widths[j]) : c.padStart(widths[j]))).join('  ');
  return [line(cells[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}
