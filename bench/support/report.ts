// The verdict and the printed report of the ingest benchmark: the targets table (pass/fail), the
// per-run details (latency, CPU, memory), the restart check, and every correctness problem.

import { formatCount, formatFixed, renderTable } from './table.ts';
import type { Verification } from './tally.ts';
import type { WrkResult } from './wrk.ts';

export type Target = { kind: 'ratio'; min: number } | { kind: 'events'; min: number };

export interface Scenario {
  key: string;
  label: string;
  script: string;
  eventsPerRequest: number;
  target: Target;
}

export interface Measured {
  wrk: WrkResult;
  serverCpuS: number;
  /** CPU seconds used by everything except the server and wrk during the run. */
  otherCpuS: number;
  peakRssMiB: number;
}

export interface ScenarioResult {
  scenario: Scenario;
  bare: Measured;
  tally: Measured;
  verification: Verification;
}

export interface Verdict {
  rows: string[][];
  problems: string[];
  targetsMissed: number;
}

function judge(results: readonly ScenarioResult[]): Verdict {
  const rows: string[][] = [];
  const problems: string[] = [];
  let targetsMissed = 0;
  for (const { scenario, bare, tally, verification } of results) {
    const ratio = tally.wrk.okPerSecond / bare.wrk.okPerSecond;
    const eventsPerS = tally.wrk.okPerSecond * scenario.eventsPerRequest;
    const { target } = scenario;
    const pass = target.kind === 'ratio' ? ratio >= target.min : eventsPerS >= target.min;
    if (!pass) targetsMissed++;
    rows.push([
      scenario.label,
      formatCount(bare.wrk.okPerSecond),
      formatCount(tally.wrk.okPerSecond),
      formatFixed(ratio, 2),
      formatCount(eventsPerS),
      target.kind === 'ratio' ? `ratio >= ${target.min}` : `>= ${formatCount(target.min)} events/s`,
      pass ? 'pass' : 'FAIL',
    ]);
    for (const [name, m] of [
      ['bare', bare],
      ['tally', tally],
    ] as const) {
      const e = m.wrk.errors;
      const socket = e.connect + e.read + e.write + e.timeout;
      if (e.status > 0) problems.push(`${scenario.label}, ${name}: ${failures(m.wrk)}`);
      if (socket > 0) problems.push(`${scenario.label}, ${name}: ${socket} socket errors`);
    }
    for (const p of verification.problems) problems.push(`${scenario.label}, after restart: ${p}`);
  }
  return { rows, problems, targetsMissed };
}

/** e.g. "210 non-2xx responses (429: 210), first: {"detail":…}" */
function failures(wrk: WrkResult): string {
  const byStatus = Object.entries(wrk.failed)
    .map(([status, count]) => `${status}: ${count}`)
    .join(', ');
  const first = wrk.failedBody === '' ? '' : `, first: ${wrk.failedBody.slice(0, 200)}`;
  return `${wrk.errors.status} non-2xx responses${byStatus ? ` (${byStatus})` : ''}${first}`;
}

function ackedRequests(wrk: WrkResult): number {
  return wrk.requests - wrk.errors.status;
}

function detailRows(results: readonly ScenarioResult[]): string[][] {
  return results.flatMap(({ scenario, bare, tally }) =>
    (
      [
        ['bare', bare],
        ['tally', tally],
      ] as const
    ).map(([name, m]) => {
      const e = m.wrk.errors;
      return [
        `${scenario.label} / ${name}`,
        formatCount(m.wrk.requests),
        formatCount(m.wrk.okPerSecond * scenario.eventsPerRequest),
        String(e.status),
        String(e.connect + e.read + e.write + e.timeout),
        formatFixed(m.wrk.latencyUs.p50 / 1000, 2),
        formatFixed(m.wrk.latencyUs.p99 / 1000, 2),
        formatFixed((100 * m.serverCpuS) / m.wrk.durationS, 0),
        formatFixed((1e6 * m.serverCpuS) / (ackedRequests(m.wrk) * scenario.eventsPerRequest), 2),
        formatFixed((100 * m.wrk.cpuS) / m.wrk.durationS, 0),
        formatFixed((100 * Math.max(0, m.otherCpuS)) / m.wrk.durationS, 0),
        formatCount(m.peakRssMiB),
      ];
    }),
  );
}

export function printReport(
  results: readonly ScenarioResult[],
  header: readonly string[],
  footer: readonly string[],
): Verdict {
  const verdict = judge(results);
  const out = [
    '',
    ...header,
    '',
    renderTable(
      ['scenario', 'bare req/s', 'tally req/s', 'ratio', 'events/s', 'target', 'result'],
      verdict.rows,
    ),
    '',
    renderTable(
      [
        'run',
        'requests',
        'events/s',
        'non-2xx',
        'sock err',
        'p50 ms',
        'p99 ms',
        'server cpu%',
        'cpu us/event',
        'wrk cpu%',
        'other cpu%',
        'peak rss MiB',
      ],
      detailRows(results),
    ),
    '',
    ...results.map(({ scenario, verification: v }) => {
      const counts =
        `${formatCount(v.storedEvents)} events stored, ${formatCount(v.ackedEvents)} ` +
        `acknowledged, ${formatCount(v.sentEvents)} sent`;
      return (
        `${scenario.label}: after kill -9 + restart (replay ${v.replayMs} ms): ${counts}; ` +
        `${v.sampled} sampled ids read back`
      );
    }),
    '',
    verdict.problems.length === 0
      ? 'correctness: no non-2xx responses, no socket errors, every acknowledged event recovered'
      : `correctness: FAILED\n  ${verdict.problems.join('\n  ')}`,
    verdict.targetsMissed === 0 ? 'targets: all met' : `targets: ${verdict.targetsMissed} missed`,
    ...footer,
  ];
  process.stdout.write(`${out.join('\n')}\n`);
  return verdict;
}
