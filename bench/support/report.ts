// The verdict and the printed report of the ingest benchmark's bare-vs-Tally scenarios: the
// targets table (pass/fail, medians over a scenario's rounds), the per-run details (latency,
// CPU, memory), the floors under a scenario that has them, the restart check; and the closing
// verdict of the whole run, with every correctness problem.

import { median } from './median.ts';
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
  /** Servers loaded next to bare and Tally in every round, to show where a ratio goes. */
  floors?: readonly Floor[];
}

/** A baseline between bare and Tally: a script in bench/support and what it leaves out. */
export interface Floor {
  /** Short name for tables and output files, e.g. 'floor'. */
  name: string;
  /** What it runs, for the report line, e.g. "Tally's route before the engine, storing nothing". */
  label: string;
}

export interface Measured {
  wrk: WrkResult;
  serverCpuS: number;
  /** CPU seconds used by everything except the server and wrk during the run. */
  otherCpuS: number;
  peakRssMiB: number;
}

/** One turn of a scenario: bare, then each floor, then Tally, one after another. */
export interface Round {
  bare: Measured;
  /** In the order of `scenario.floors`. */
  floors: Measured[];
  tally: Measured;
  /** Non-2xx answers and socket errors of the round's warm-ups, each naming its server. */
  warmupErrors: string[];
}

export interface ScenarioResult {
  scenario: Scenario;
  rounds: Round[];
  verification: Verification;
}

const okPerS = (m: Measured) => m.wrk.okPerSecond;

/** Median over rounds of a per-round number. */
function overRounds(rounds: readonly Round[], of: (round: Round) => number): number {
  return median(rounds.map(of));
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
  for (const { scenario, rounds, verification } of results) {
    // Each round's ratio is a same-moment comparison; the median keeps one noisy round out.
    const ratio = overRounds(rounds, (r) => okPerS(r.tally) / okPerS(r.bare));
    const eventsPerS = overRounds(rounds, (r) => okPerS(r.tally)) * scenario.eventsPerRequest;
    const { target } = scenario;
    const pass = target.kind === 'ratio' ? ratio >= target.min : eventsPerS >= target.min;
    if (!pass) targetsMissed++;
    rows.push([
      scenario.label,
      formatCount(overRounds(rounds, (r) => okPerS(r.bare))),
      formatCount(overRounds(rounds, (r) => okPerS(r.tally))),
      formatFixed(ratio, 2),
      formatCount(eventsPerS),
      target.kind === 'ratio' ? `ratio >= ${target.min}` : `>= ${formatCount(target.min)} events/s`,
      pass ? 'pass' : 'FAIL',
    ]);
    for (const [name, m] of runsOf(scenario, rounds)) {
      loadErrors.push(...wrkErrors(`${scenario.label}, ${name}`, m.wrk));
    }
    for (const round of rounds) {
      loadErrors.push(...round.warmupErrors.map((e) => `${scenario.label}, ${e}`));
    }
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

/** Every run of a scenario with its name: `bare`, each floor, `tally`, `#N` for round N. */
function runsOf(scenario: Scenario, rounds: readonly Round[]): Array<[string, Measured]> {
  const floors = scenario.floors ?? [];
  return rounds.flatMap((round, i) => {
    const suffix = rounds.length > 1 ? ` #${i + 1}` : '';
    const named: Array<[string, Measured]> = [[`bare${suffix}`, round.bare]];
    round.floors.forEach((m, f) => {
      named.push([`${(floors[f] as Floor).name}${suffix}`, m]);
    });
    named.push([`tally${suffix}`, round.tally]);
    return named;
  });
}

function detailRows(results: readonly ScenarioResult[]): string[][] {
  return results.flatMap(({ scenario, rounds }) =>
    runsOf(scenario, rounds).map(([name, m]): string[] => {
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

/**
 * Where a ratio goes: each floor as a fraction of bare, and Tally as a fraction of the floor
 * (medians over rounds of each round's ratio).
 */
function floorLines(results: readonly ScenarioResult[]): string[] {
  return results.flatMap(({ scenario, rounds }) =>
    (scenario.floors ?? []).map((floor, f) => {
      const floorOf = (r: Round) => okPerS(r.floors[f] as Measured);
      const perS = overRounds(rounds, floorOf);
      const ofBare = overRounds(rounds, (r) => floorOf(r) / okPerS(r.bare));
      const tallyOfFloor = overRounds(rounds, (r) => okPerS(r.tally) / floorOf(r));
      return (
        `${scenario.label}: ${floor.name} (${floor.label}) ${formatCount(perS)} req/s = ` +
        `${formatFixed(ofBare, 2)}× bare; durable Tally = ${formatFixed(tallyOfFloor, 2)}× it`
      );
    }),
  );
}

/** What each round gave, behind a median: the ratio, or events/s for an events target. */
function roundLines(results: readonly ScenarioResult[]): string[] {
  return results
    .filter(({ rounds }) => rounds.length > 1)
    .map(({ scenario, rounds }) => {
      if (scenario.target.kind === 'ratio') {
        const ratios = rounds.map((r) => formatFixed(okPerS(r.tally) / okPerS(r.bare), 2));
        return `${scenario.label}: tally ÷ bare by round: ${ratios.join(' ')} (median above)`;
      }
      const perS = rounds.map((r) => formatCount(okPerS(r.tally) * scenario.eventsPerRequest));
      return `${scenario.label}: tally events/s by round: ${perS.join(' ')} (median above)`;
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
    ...roundLines(results),
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
