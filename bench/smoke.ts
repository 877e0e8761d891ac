// Smoke run of every benchmark (`bun run bench:smoke [name…]`, CI's last suite): each bench:* entry
// of package.json and each bench/**/*.bench.ts without one, at the smallest sizes and durations its
// options allow, one after another, each in a temp directory of its own (its TMPDIR and
// BENCH_OUT_DIR: nothing goes to bench/out), servers on free ports of 127.0.0.1. A benchmark passes
// when it exits 0 and printed its result (table or line); the numbers are not judged, so one that
// exits 1 only because a target was missed passes too (a check of its own, such as bench:ingest's
// acknowledged events surviving kill -9, still has to pass). A benchmark with no case
// (bench/support/smoke-cases.ts) fails, so none goes unrun. Prints bun test's "N pass" / "N fail"
// lines, which .ci/run adds to its totals; exits 1 if any failed.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { benchmarks, CASES, type Outcome, runCase, stopRunning } from './support/smoke-cases.ts';

const OUTPUT_TAIL_LINES = 40;

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    stopRunning();
    process.exit(1);
  });
}

const files = benchmarks();
const wanted = process.argv.slice(2);
for (const name of wanted) {
  if (!files.has(name)) throw new Error(`${name}: no such benchmark (${[...files.keys()]})`);
}
const chosen = (name: string) =>
  wanted.length === 0 ||
  wanted.includes(name) ||
  (name === 'generate' && CASES.some((c) => c.data && wanted.includes(c.name)));
const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-bench-smoke-'));
const started = performance.now();
let passed = 0;
let failed = 0;
try {
  for (const name of files.keys()) {
    if (chosen(name) && !CASES.some((c) => c.name === name)) {
      console.log(`FAIL ${name}: no case in bench/support/smoke-cases.ts`);
      failed++;
    }
  }
  for (const c of CASES) {
    const file = c.file ?? files.get(c.name);
    if (!chosen(c.name)) continue;
    if (file === undefined) throw new Error(`${c.name}: a case of no benchmark`);
    const tmp = path.join(runDir, c.name);
    fs.mkdirSync(tmp);
    const dataSet = path.join(runDir, 'query-data');
    const caseStarted = performance.now();
    let outcome: Outcome;
    if (c.data && !fs.existsSync(dataSet)) {
      outcome = { ok: false, why: 'no data set (bench:generate failed)', output: '' };
    } else {
      if (c.data) fs.cpSync(dataSet, path.join(tmp, 'data'), { recursive: true });
      outcome = await runCase(c, file, tmp);
    }
    const s = ((performance.now() - caseStarted) / 1000).toFixed(1);
    if (outcome.ok) {
      passed++;
      console.log(`ok   ${c.name} (${s} s)${outcome.why === '' ? '' : `: ${outcome.why}`}`);
    } else {
      failed++;
      const tail = outcome.output.trimEnd().split('\n').slice(-OUTPUT_TAIL_LINES);
      console.log(`FAIL ${c.name} (${s} s): ${outcome.why}\n  ${tail.join('\n  ')}`);
    }
    fs.rmSync(tmp, { recursive: true, force: true });
  }
} finally {
  fs.rmSync(runDir, { recursive: true, force: true });
}
const total = ((performance.now() - started) / 1000).toFixed(0);
console.log(`\n ${passed} pass\n ${failed} fail\nRan ${passed + failed} benchmarks in ${total} s`);
process.exitCode = failed === 0 ? 0 : 1;
