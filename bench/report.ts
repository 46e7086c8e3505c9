/** One measured scenario, compared with the baseline that bounds it. */
export interface ScenarioResult {
  name: string;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  rssMb: number;
  baseline: string;
  baselinePerSecond: number;
  ratio: number;
  /** What the project aims for in this scenario, each condition with whether this run met it. */
  targets: { text: string; met: boolean }[];
}

export interface BenchReport {
  date: string;
  database: 'postgres' | 'pglite';
  connections: number;
  durationSeconds: number;
  machine: { cpus: number; node: string };
  baselines: Record<string, number>;
  scenarios: ScenarioResult[];
}

const fixed = (n: number, digits = 0) => n.toFixed(digits);

/** A plain-text table for stdout and Markdown. */
export function table(report: BenchReport): string {
  const head = '| scenario | req/s | p50 ms | p99 ms | errors | RSS MB | baseline | ratio | target |';
  const rule = '|---|---:|---:|---:|---:|---:|---|---:|---|';
  const rows = report.scenarios.map((s) =>
    [
      s.name,
      fixed(s.requestsPerSecond),
      fixed(s.p50Ms, 1),
      fixed(s.p99Ms, 1),
      String(s.errors),
      fixed(s.rssMb),
      `${s.baseline} (${fixed(s.baselinePerSecond)}/s)`,
      fixed(s.ratio, 2),
      s.targets.map((t) => `${t.met ? 'met' : '**not met**'}: ${t.text}`).join('; '),
    ].join(' | '),
  );
  return [head, rule, ...rows.map((r) => `| ${r} |`)].join('\n');
}

/** A horizontal bar chart of each scenario's ratio to its baseline, with the 1.0 line. */
export function svgChart(report: BenchReport): string {
  const width = 720;
  const rowHeight = 34;
  const left = 190;
  const plot = width - left - 70;
  const max = Math.max(1.2, ...report.scenarios.map((s) => s.ratio));
  const x = (ratio: number) => left + (ratio / max) * plot;
  const height = 60 + report.scenarios.length * rowHeight;
  const bars = report.scenarios
    .map((s, i) => {
      const y = 40 + i * rowHeight;
      const colour = s.targets.some((t) => !t.met) ? '#d9534f' : '#3b7dd8';
      return [
        `<text x="${left - 10}" y="${y + 17}" text-anchor="end">${s.name}</text>`,
        `<rect x="${left}" y="${y + 4}" width="${Math.max(x(s.ratio) - left, 1).toFixed(1)}" height="20" fill="${colour}"/>`,
        `<text x="${(x(s.ratio) + 6).toFixed(1)}" y="${y + 19}">${s.ratio.toFixed(2)}</text>`,
      ].join('');
    })
    .join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="13">
<text x="10" y="22" font-weight="bold">Throughput as a ratio of its baseline (${report.database}, ${report.connections} connections)</text>
${bars}
<line x1="${x(1).toFixed(1)}" y1="36" x2="${x(1).toFixed(1)}" y2="${height - 14}" stroke="#333" stroke-dasharray="4 3"/>
<text x="${x(1).toFixed(1)}" y="${height - 2}" text-anchor="middle">1.0</text>
</svg>
`;
}
