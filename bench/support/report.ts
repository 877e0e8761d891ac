// The verdict and the printed report of the ingest benchmark's bare-vs-Tally scenarios: the
// targets table (pass/fail), the per-run details (latency, CPU, memory), the floor under a
// scenario that has one, the restart check; and the closing verdict of the whole run, with every
// correctness problem.

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
  /** Tally environment this scenario needs on top of TALLY_BENCH_ENV. */
  tallyEnv?: Readonly<Record<string, string>>;
  /** Also load the floor server: Tally's route before the engine, storing nothing. */
  floor?: boolean;
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
  /** The floor server's run, for a scenario that asks for it. */
  floor: Measured | null;
  tally: Measured;
  verification: Verification;
}

export interface Verdict {
  /** Non-2xx responses and socket errors: load the server did not acknowledge. */
  loadErrors: string[];
  /** Correctness: acknowledged events missing after kill -9 and restart, and the like. */
  problems: string[];
  targetsMissed: number;
}

function judge(results: readonly ScenarioResult[]): Verdict & { rows: string[][] } {
  const rows: string[][] = [];
  const loadErrors: string[] = [];
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
    loadErrors.push(
      ...wrkErrors(`${scenario.label}, bare`, bare.wrk),
      ...wrkErrors(`${scenario.label}, tally`, tally.wrk),
    );
    for (const p of verification.problems) problems.push(`${scenario.label}, after restart: ${p}`);
  }
  return { rows, loadErrors, problems, targetsMissed };
}

/** Non-2xx responses and socket errors of one wrk run, each prefixed with `label`. */
export function wrkErrors(label: string, wrk: WrkResult): string[] {
  const e = wrk.errors;
  const socket = e.connect + e.read + e.write + e.timeout;
  const problems: string[] = [];
  if (e.status > 0) problems.push(`${label}: ${failures(wrk)}`);
  if (socket > 0) problems.push(`${label}: ${socket} socket errors`);
  return problems;
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
  return results.flatMap(({ scenario, bare, floor, tally }) =>
    (
      [
        ['bare', bare],
        ['floor', floor],
        ['tally', tally],
      ] as const
    ).flatMap(([name, m]): string[][] => {
      if (m === null) return [];
      const e = m.wrk.errors;
      return [
        [
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
        ],
      ];
    }),
  );
}

/** Where a ratio goes: the floor as a fraction of bare, and Tally as a fraction of the floor. */
function floorLines(results: readonly ScenarioResult[]): string[] {
  return results.flatMap(({ scenario, bare, floor, tally }) => {
    if (floor === null) return [];
    const f = floor.wrk.okPerSecond;
    return [
      `${scenario.label}: floor (Tally's route before the engine, storing nothing) ` +
        `${formatCount(f)} req/s = ${formatFixed(f / bare.wrk.okPerSecond, 2)}× bare; ` +
        `durable Tally = ${formatFixed(tally.wrk.okPerSecond / f, 2)}× the floor`,
    ];
  });
}

/** Prints the tables and the restart checks of the bare-vs-Tally scenarios. */
export function printReport(results: readonly ScenarioResult[]): Verdict {
  const verdict = judge(results);
  const out = [
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
    ...floorLines(results),
    ...results.map(({ scenario, verification }) => restartLine(scenario.label, verification)),
  ];
  process.stdout.write(`${out.join('\n')}\n`);
  return verdict;
}

/** One line on the kill -9 + restart check of a scenario. */
export function restartLine(label: string, v: Verification): string {
  const counts =
    `${formatCount(v.storedEvents)} events stored, ${formatCount(v.ackedEvents)} ` +
    `acknowledged, ${formatCount(v.sentEvents)} sent`;
  return (
    `${label}: after kill -9 + restart (replay ${v.replayMs} ms): ${counts}; ` +
    `${v.sampled} sampled ids read back`
  );
}

/** The closing lines for the whole run: errors, correctness problems and missed targets. */
export function printVerdict(verdicts: readonly Verdict[], footer: readonly string[]): boolean {
  const loadErrors = verdicts.flatMap((v) => v.loadErrors);
  const problems = verdicts.flatMap((v) => v.problems);
  const missed = verdicts.reduce((n, v) => n + v.targetsMissed, 0);
  const out = [
    '',
    loadErrors.length === 0
      ? 'responses: every request answered 2xx, no socket errors'
      : `responses: FAILED\n  ${loadErrors.join('\n  ')}`,
    problems.length === 0
      ? 'correctness: every acknowledged event recovered after kill -9 + restart'
      : `correctness: FAILED\n  ${problems.join('\n  ')}`,
    missed === 0 ? 'targets: all met' : `targets: ${missed} missed`,
    ...footer,
  ];
  process.stdout.write(`${out.join('\n')}\n`);
  return loadErrors.length === 0 && problems.length === 0 && missed === 0;
}
