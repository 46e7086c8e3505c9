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

/** What a row is judged against (docs/performance.md: the targets are issue 11's). */
export interface RowGoals {
  name: string;
  /** The row that bounds this service scenario: its chart bar is the ratio to it. */
  bound?: string;
  /** Targets: at least this ratio × the named row's throughput. */
  atLeast?: [to: string, ratio: number][];
  p99AtMostMs?: number;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function ratio(a: Row, b: Row): Ratio {
  const per = a.samples.map((s, i) => s.requestsPerSecond / b.samples[i]!.requestsPerSecond);
  return { to: b.name, median: median(per), min: Math.min(...per), max: Math.max(...per) };
}

/** A row of the rounds' samples: medians, the throughput's spread; ratios and targets come from `judge`. */
export function summarise(name: string, kind: Row['kind'], samples: Sample[]): Row {
  const of = (pick: (s: Sample) => number | undefined) => {
    const values = samples.map(pick).filter((v): v is number => v !== undefined);
    return values.length ? median(values) : undefined;
  };
  const rps = samples.map((s) => s.requestsPerSecond);
  const rss = samples.map((s) => s.rssMb).filter((v): v is number => v !== undefined);
  return {
    name,
    kind,
    samples,
    median: {
      requestsPerSecond: median(rps),
      p50Ms: of((s) => s.p50Ms)!,
      p99Ms: of((s) => s.p99Ms)!,
      errors: Math.max(...samples.map((s) => s.errors)),
      requests: of((s) => s.requests)!,
      ...(rss.length && { rssMb: Math.max(...rss) }),
      ...(of((s) => s.nodeCpuUs) !== undefined && { nodeCpuUs: of((s) => s.nodeCpuUs) }),
      ...(of((s) => s.dbCpuUs) !== undefined && { dbCpuUs: of((s) => s.dbCpuUs) }),
    },
    spread: [Math.min(...rps), Math.max(...rps)],
    ratios: [],
    targets: [],
  };
}

/**
 * Fills in each row's ratios, chart and targets. A service row is compared with its bound, its
 * targets' rows and every peer; a service or peer row also with `reference` (the database's
 * limit). A comparison with a row this run lacks (BENCH_ONLY, or the peers on PGlite) is left out,
 * and so is its target.
 */
export function judge(rows: Row[], goals: RowGoals[], reference: string): void {
  const row = (name: string) => rows.find((r) => r.name === name);
  const goalsOf = (name: string) => goals.find((g) => g.name === name);
  const peers = rows.filter((r) => r.kind === 'peer').map((r) => r.name);
  for (const r of rows) {
    if (r.kind === 'baseline') continue;
    const service = r.kind === 'service';
    const g = goalsOf(r.name);
    const names = [...(service ? [g?.bound, ...(g?.atLeast ?? []).map(([to]) => to), ...peers] : []), reference];
    const against = [...new Set(names)]
      .filter((n): n is string => n !== undefined)
      .map(row)
      .filter((o): o is Row => o !== undefined);
    r.ratios = against.map((other) => ratio(r, other));
    if (service) r.chart = r.ratios.find((q) => q.to === g?.bound);
    for (const [to, min] of g?.atLeast ?? []) {
      const q = r.ratios.find((x) => x.to === to);
      if (q) r.targets.push({ text: `≥ ${min.toFixed(2)} × ${to}`, met: q.median >= min });
    }
    if (g?.p99AtMostMs !== undefined) r.targets.push({ text: `p99 ≤ ${g.p99AtMostMs} ms`, met: r.median.p99Ms <= g.p99AtMostMs });
    if (service) {
      r.targets.push({ text: '0 errors', met: r.median.errors === 0 }, { text: 'RSS ≤ 200 MB', met: (r.median.rssMb ?? 0) <= 200 });
    }
  }
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
