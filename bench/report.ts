/** One round's measurement of one row. */
export interface Sample {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  /** Peak RSS of the server process; absent for loops that run in the benchmark's own process. */
  rssMb?: number;
  /** Responses (or operations) completed. */
  requests: number;
  /** CPU time (user + system) per request, µs: of the Node process, and of PostgreSQL's backends. */
  nodeCpuUs?: number;
  dbCpuUs?: number;
}

/** A row's throughput divided by another's, per round (paired, so drift between rounds cancels). */
export interface Ratio {
  to: string;
  median: number;
  min: number;
  max: number;
}

/** A service scenario, a hand-written peer, or a baseline; medians over the rounds. */
export interface Row {
  name: string;
  kind: 'service' | 'peer' | 'baseline';
  samples: Sample[];
  median: Sample;
  /** Lowest and highest requests/s over the rounds. */
  spread: [number, number];
  ratios: Ratio[];
  /** What issue 11 aims for in this row, each with whether this run met it. */
  targets: { text: string; met: boolean }[];
  /** The comparison the chart draws. */
  chart?: Ratio;
}

export interface BenchReport {
  date: string;
  database: 'postgres' | 'pglite';
  connections: number;
  durationSeconds: number;
  rounds: number;
  machine: { cpus: number; node: string };
  rows: Row[];
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const fixed = (n: number | undefined, digits = 0) => (n === undefined ? '–' : n.toFixed(digits));

/** A Markdown table for stdout and the docs. */
export function table(report: BenchReport): string {
  const head = '| row | req/s (min–max) | p50 ms | p99 ms | errors | RSS MB | CPU µs/req node / PG | ratios (median, min–max) | targets |';
  const rule = '|---|---:|---:|---:|---:|---:|---|---|---|';
  const rows = report.rows.map((r) =>
    [
      r.kind === 'service' ? r.name : `*${r.name}*`,
      `${fixed(r.median.requestsPerSecond)} (${fixed(r.spread[0])}–${fixed(r.spread[1])})`,
      fixed(r.median.p50Ms, 1),
      fixed(r.median.p99Ms, 1),
      String(r.median.errors),
      fixed(r.median.rssMb),
      `${fixed(r.median.nodeCpuUs)} / ${fixed(r.median.dbCpuUs)}`,
      r.ratios.map((q) => `${q.to} ${q.median.toFixed(2)} (${q.min.toFixed(2)}–${q.max.toFixed(2)})`).join('; '),
      r.targets.map((t) => `${t.met ? 'met' : '**not met**'}: ${t.text}`).join('; '),
    ].join(' | '),
  );
  return [head, rule, ...rows.map((r) => `| ${r} |`)].join('\n');
}

/** A horizontal bar chart of each service scenario's ratio to what bounds it, whiskers for the spread over rounds. */
export function svgChart(report: BenchReport): string {
  const charted = report.rows.filter((r): r is Row & { chart: Ratio } => r.chart !== undefined);
  const width = 760;
  const rowHeight = 34;
  const left = 330;
  const plot = width - left - 70;
  const max = Math.max(1.2, ...charted.map((r) => r.chart.max));
  const x = (ratio: number) => left + (ratio / max) * plot;
  const height = 60 + charted.length * rowHeight;
  const bars = charted
    .map((r, i) => {
      const y = 40 + i * rowHeight;
      const colour = r.targets.some((t) => !t.met) ? '#d9534f' : '#3b7dd8';
      const { median: m, min, max: hi } = r.chart;
      return [
        `<text x="${left - 10}" y="${y + 17}" text-anchor="end">${r.name} ÷ ${r.chart.to}</text>`,
        `<rect x="${left}" y="${y + 4}" width="${Math.max(x(m) - left, 1).toFixed(1)}" height="20" fill="${colour}"/>`,
        `<line x1="${x(min).toFixed(1)}" y1="${y + 14}" x2="${x(hi).toFixed(1)}" y2="${y + 14}" stroke="#222"/>`,
        `<text x="${(x(Math.max(m, hi)) + 6).toFixed(1)}" y="${y + 19}">${m.toFixed(2)}</text>`,
      ].join('');
    })
    .join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="13">
<rect width="100%" height="100%" fill="#fff"/>
<text x="10" y="22" font-weight="bold">Throughput ratio, median of ${report.rounds} interleaved rounds (${report.database}, ${report.connections} connections)</text>
${bars}
<line x1="${x(1).toFixed(1)}" y1="36" x2="${x(1).toFixed(1)}" y2="${height - 14}" stroke="#333" stroke-dasharray="4 3"/>
<text x="${x(1).toFixed(1)}" y="${height - 2}" text-anchor="middle">1.0</text>
</svg>
`;
}
