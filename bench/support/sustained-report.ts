// The verdict and the printed report of the sustained run: durable events/s and latency from
// wrk, memory and flush backlog over time from the once-a-second samples (per 10 s window), and
// pass/fail for throughput, bounded memory and a backlog that does not grow.

import { type Measured, restartLine, type Verdict, wrkErrors } from './report.ts';
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
  measured: Measured;
  samples: Sample[];
  verification: Verification;
}

/** The pass/fail rules; windows are [from, to) in seconds since the load started. */
export const SUSTAINED_CRITERIA = {
  eventsPerSMin: 100_000,
  /** Memory is bounded: the last 10 s average ≤ this × the 10–20 s average. */
  rssGrowthMax: 1.5,
  /** The backlog does not grow: the last 10 s average ≤ this × the 10–20 s average. */
  backlogGrowthMax: 2,
  windowS: 10,
} as const;

const MiB = 1024 ** 2;

type Pick = (s: Sample) => number | null;

const rss: Pick = (s) => (Number.isFinite(s.rssMiB) ? s.rssMiB : null);
/** Log records acknowledged but not yet in segments. */
const backlog: Pick = (s) => (s.status ? s.status.last_seq - s.status.flushed_through_seq : null);
const hotMiB: Pick = (s) => (s.status ? s.status.hot_bytes / MiB : null);
const walFiles: Pick = (s) => (s.status ? s.status.wal_files : null);
const statusMs: Pick = (s) => (s.status ? s.statusMs : null);

interface Window {
  avg: number;
  max: number;
  count: number;
}

function inWindow(samples: readonly Sample[], fromS: number, toS: number, pick: Pick): Window {
  const values = samples
    .filter((s) => s.atS >= fromS && s.atS < toS)
    .map(pick)
    .filter((v): v is number => v !== null);
  if (values.length === 0) return { avg: Number.NaN, max: Number.NaN, count: 0 };
  const avg = values.reduce((a, b) => a + b, 0) / values.length;
  return { avg, max: Math.max(...values), count: values.length };
}

/**
 * Events the server took per second in [fromS, toS), from the growth of its dedup keys (one per
 * distinct event accepted): between the last status before the window (or zero keys at the
 * start) and the last status inside it.
 */
function acceptedPerS(samples: readonly Sample[], fromS: number, toS: number): number {
  const withStatus = samples.filter((s) => s.status !== null);
  const before = withStatus.filter((s) => s.atS < fromS).at(-1);
  const end = withStatus.filter((s) => s.atS < toS).at(-1);
  const startKeys = before?.status?.dedup_keys ?? 0;
  const startS = before?.atS ?? 0;
  if (end?.status == null || end.atS <= startS) return Number.NaN;
  return (end.status.dedup_keys - startKeys) / (end.atS - startS);
}

const TIMELINE_HEADER = [
  'window',
  'accepted/s',
  'rss MiB',
  'rss max',
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
/** How many samples in [fromS, toS) saw flushed_through_seq advance: flushes that finished. */
function flushesSeen(samples: readonly Sample[], fromS: number, toS: number): number {
  const withStatus = samples.filter((s) => s.status !== null);
  let count = 0;
  for (let i = 1; i < withStatus.length; i++) {
    const [prev, cur] = [withStatus[i - 1]?.status, withStatus[i] as Sample];
    if (cur.atS < fromS || cur.atS >= toS || prev == null || cur.status == null) continue;
    if (cur.status.flushed_through_seq > prev.flushed_through_seq) count++;
  }
  return count;
}

function timelineTable(r: SustainedResult): string {
  const rows: string[][] = [];
  const w = SUSTAINED_CRITERIA.windowS;
  for (let from = 0; from < r.durationS; from += w) {
    const to = Math.min(from + w, r.durationS);
    const [mem, log, hot, files, ms] = [rss, backlog, hotMiB, walFiles, statusMs].map((pick) =>
      inWindow(r.samples, from, to, pick),
    ) as [Window, Window, Window, Window, Window];
    const taken = r.samples.filter((s) => s.atS >= from && s.atS < to).length;
    rows.push([
      `${from}-${to} s`,
      formatCount(acceptedPerS(r.samples, from, to)),
      ...[mem.avg, mem.max, log.avg, log.max, hot.avg, hot.max, files.max].map(formatCount),
      String(flushesSeen(r.samples, from, to)),
      formatCount(ms.max),
      `${log.count}/${taken}`,
    ]);
  }
  return renderTable(TIMELINE_HEADER, rows);
}

interface Trend {
  first: Window;
  settled: Window;
  last: Window;
  max: number;
}

function trend(r: SustainedResult, pick: Pick): Trend {
  const w = SUSTAINED_CRITERIA.windowS;
  const all = inWindow(r.samples, 0, r.durationS, pick);
  return {
    first: inWindow(r.samples, 0, w, pick),
    settled: inWindow(r.samples, w, 2 * w, pick),
    last: inWindow(r.samples, r.durationS - w, r.durationS, pick),
    max: all.max,
  };
}

/** Pass when the last window's average is at most `factor` × the 10–20 s one (NaN fails). */
function notGrowing(t: Trend, factor: number, floor: number): boolean {
  return t.last.avg <= factor * Math.max(t.settled.avg, floor);
}

interface Check {
  name: string;
  pass: boolean;
}

function trendRow(name: string, t: Trend, criterion: string, check: Check | null): string[] {
  const result = check === null ? '' : check.pass ? 'pass' : 'FAIL';
  const values = [t.first.avg, t.settled.avg, t.last.avg, t.max].map(formatCount);
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
  const mem = trend(r, rss);
  const log = trend(r, backlog);
  const throughput = { name: 'durable events/s', pass: eventsPerS(r) >= c.eventsPerSMin };
  const bounded = { name: 'rss bounded', pass: notGrowing(mem, c.rssGrowthMax, 0) };
  // A floor of one record: a backlog going from 0 to 1 is not growth.
  const steady = { name: 'backlog not growing', pass: notGrowing(log, c.backlogGrowthMax, 1) };
  const trends = renderTable(
    ['averages', '0-10 s', '10-20 s', 'last 10 s', 'max', 'criterion', 'result'],
    [
      trendRow('rss MiB', mem, `last <= ${c.rssGrowthMax} x 10-20 s`, bounded),
      trendRow('backlog records', log, `last <= ${c.backlogGrowthMax} x 10-20 s`, steady),
      trendRow('hot MiB', trend(r, hotMiB), '', null),
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
