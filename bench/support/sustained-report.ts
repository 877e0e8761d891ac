// The verdict and the printed report of the sustained run: durable events/s and latency from
// wrk, memory and flush backlog over time from the once-a-second samples (per 10 s window, read
// by sample-windows.ts), and pass/fail for throughput, bounded memory and a backlog that does not
// grow.

import { type Measured, restartLine, type Verdict, wrkErrors } from './report.ts';
import {
  acceptedPerS,
  backlog,
  dedupKeys,
  dedupMiB,
  flushesSeen,
  hotMiB,
  inWindow,
  notGrowing,
  type Pick,
  rss,
  rssLessDedup,
  statusMs,
  type Trend,
  trend,
  type Window,
  walFiles,
} from './sample-windows.ts';
import type { Sample } from './sampler.ts';
import { formatCount, formatFixed, renderTable } from './table.ts';
import type { Verification } from './tally.ts';

export interface SustainedResult {
  label: string;
  eventsPerRequest: number;
  /** Planned length of the run, seconds (wrk's -d). */
  durationS: number;
  /** The most events/s wrk's pacing allows (responses slow it further); 0 = full speed. */
  offeredEventsPerS: number;
  /** The DEDUP_KEYS_MAX the server ran with: the bound of its dedup index. */
  dedupKeysMax: number;
  measured: Measured;
  samples: Sample[];
  verification: Verification;
}

/** The pass/fail rules; windows are [from, to) in seconds since the load started. */
export const SUSTAINED_CRITERIA = {
  eventsPerSMin: 100_000,
  /**
   * Memory is bounded: the lowest sample of RSS less the dedup index's tables in the last 10 s ≤
   * this × its lowest in 10–20 s, and the index within DEDUP_KEYS_MAX keys. The index remembers
   * every id of the window, so it grows for the whole run by design, up to that bound (README
   * Limits). The lowest sample, not the average: JavaScriptCore lets garbage pile up between
   * two collections in proportion to the heap, the index's tables counted, so the averages swing
   * with where a collection falls (hundreds of MiB with a 256 MiB index; bench/README, 33rd
   * session); the floor a collection leaves is what a leak raises.
   */
  rssGrowthMax: 1.5,
  /** The backlog does not grow: the last 10 s average ≤ this × the 10–20 s average. */
  backlogGrowthMax: 2,
  windowS: 10,
} as const;

const TIMELINE_HEADER = [
  'window',
  'accepted/s',
  'rss MiB',
  'rss max',
  'dedup MiB',
  'rss - dedup MiB',
  'backlog',
  'backlog max',
  'hot MiB',
  'hot max',
  'wal files',
  'flushes',
  'status ms',
  'answered',
];

/** One row per 10 s: accepted events/s, memory, backlog, hot memory, log files, flushes. */
function timelineTable(r: SustainedResult): string {
  const rows: string[][] = [];
  const w = SUSTAINED_CRITERIA.windowS;
  for (let from = 0; from < r.durationS; from += w) {
    const to = Math.min(from + w, r.durationS);
    const picks = [rss, dedupMiB, rssLessDedup, backlog, hotMiB, walFiles, statusMs];
    const [mem, dedup, rest, log, hot, files, ms] = picks.map((pick) =>
      inWindow(r.samples, from, to, pick),
    ) as [Window, Window, Window, Window, Window, Window, Window];
    const taken = r.samples.filter((s) => s.atS >= from && s.atS < to).length;
    const values = [mem.avg, mem.max, dedup.avg, rest.avg, log.avg, log.max, hot.avg, hot.max];
    rows.push([
      `${from}-${to} s`,
      formatCount(acceptedPerS(r.samples, from, to)),
      ...[...values, files.max].map(formatCount),
      String(flushesSeen(r.samples, from, to)),
      formatCount(ms.max),
      `${log.count}/${taken}`,
    ]);
  }
  return renderTable(TIMELINE_HEADER, rows);
}

interface Check {
  name: string;
  pass: boolean;
}

function trendRow(
  name: string,
  t: Trend,
  criterion: string,
  check: Check | null,
  stat: 'avg' | 'min' = 'avg',
): string[] {
  const result = check === null ? '' : check.pass ? 'pass' : 'FAIL';
  const values = [t.first[stat], t.settled[stat], t.last[stat], t.max].map(formatCount);
  return [name, ...values, criterion, result];
}

/** The two headline lines: throughput and latency from wrk, CPU and peak memory. */
function headline(r: SustainedResult, throughput: Check): string[] {
  const { wrk } = r.measured;
  const percent = (cpuS: number) => `${formatFixed((100 * Math.max(0, cpuS)) / wrk.durationS, 0)}%`;
  const acked = (wrk.requests - wrk.errors.status) * r.eventsPerRequest;
  const ms = (us: number) => `${formatFixed(us / 1000, 0)} ms`;
  const target = formatCount(SUSTAINED_CRITERIA.eventsPerSMin);
  return [
    `${r.label}: ${r.durationS} s, ${offered(r)}, ` +
      `durable events/s ${formatCount(eventsPerS(r))} ` +
      `(>= ${target}: ${throughput.pass ? 'pass' : 'FAIL'}), ` +
      `${formatCount(wrk.requests)} requests, ${formatCount(wrk.errors.status)} non-2xx, ` +
      `p50 ${ms(wrk.latencyUs.p50)}, p99 ${ms(wrk.latencyUs.p99)}`,
    `  server cpu ${percent(r.measured.serverCpuS)}, ` +
      `${formatFixed((1e6 * r.measured.serverCpuS) / acked, 2)} cpu us/event, ` +
      `wrk cpu ${percent(wrk.cpuS)}, other cpu ${percent(r.measured.otherCpuS)}, ` +
      `peak rss ${formatCount(r.measured.peakRssMiB)} MiB`,
  ];
}

/** Events acknowledged with a 2xx per second, end to end. */
function eventsPerS(r: SustainedResult): number {
  return r.measured.wrk.okPerSecond * r.eventsPerRequest;
}

export function printSustainedReport(r: SustainedResult): Verdict {
  const c = SUSTAINED_CRITERIA;
  const trendOf = (pick: Pick) => trend(r.samples, r.durationS, c.windowS, pick);
  const rest = trendOf(rssLessDedup);
  const keys = trendOf(dedupKeys);
  const log = trendOf(backlog);
  const throughput = { name: 'durable events/s', pass: eventsPerS(r) >= c.eventsPerSMin };
  // Memory is bounded in two parts: the rest does not grow, the dedup index stays in its bound.
  const restSteady = { name: 'rss - dedup', pass: notGrowing(rest, c.rssGrowthMax, 0, 'min') };
  const withinKeys = { name: 'dedup keys', pass: keys.max <= r.dedupKeysMax };
  const keysBound = `max <= ${formatCount(r.dedupKeysMax)} (DEDUP_KEYS_MAX)`;
  const bounded = { name: 'rss bounded', pass: restSteady.pass && withinKeys.pass };
  // A floor of one record: a backlog going from 0 to 1 is not growth.
  const steady = { name: 'backlog not growing', pass: notGrowing(log, c.backlogGrowthMax, 1) };
  const trends = renderTable(
    ['per window', '0-10 s', '10-20 s', 'last 10 s', 'max', 'criterion', 'result'],
    [
      trendRow('rss MiB avg', trendOf(rss), 'not judged: holds the dedup index', null),
      trendRow('dedup MiB avg', trendOf(dedupMiB), '', null),
      trendRow('rss - dedup MiB avg', rest, 'not judged: the collector swings it', null),
      trendRow(
        'rss - dedup MiB lowest',
        rest,
        `lowest: last <= ${c.rssGrowthMax} x 10-20 s`,
        restSteady,
        'min',
      ),
      trendRow('dedup keys avg', keys, keysBound, withinKeys),
      trendRow('backlog records avg', log, `last <= ${c.backlogGrowthMax} x 10-20 s`, steady),
      trendRow('hot MiB avg', trendOf(hotMiB), '', null),
    ],
  );
  const out = [
    '',
    ...headline(r, throughput),
    '',
    timelineTable(r),
    '',
    trends,
    '',
    restartLine(r.label, r.verification),
  ];
  process.stdout.write(`${out.join('\n')}\n`);
  return judgeSustained(r, [throughput, bounded, steady]);
}

function judgeSustained(r: SustainedResult, checks: readonly Check[]): Verdict {
  const loadErrors = wrkErrors(r.label, r.measured.wrk);
  if (!r.samples.some((s) => s.status !== null)) {
    loadErrors.push(`${r.label}: GET /api/v1/status never answered during the run`);
  }
  const problems = r.verification.problems.map((p) => `${r.label}, after restart: ${p}`);
  return { loadErrors, problems, targetsMissed: checks.filter((c) => !c.pass).length };
}

function offered(r: SustainedResult): string {
  return r.offeredEventsPerS === 0
    ? 'at full speed'
    : `paced to at most ${formatCount(r.offeredEventsPerS)} events/s`;
}
