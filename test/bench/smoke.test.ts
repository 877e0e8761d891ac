// bench:smoke's cases and its run of one: every benchmark has a case; a case passes on exit 0
// with its result printed, or exit 1 for a missed target alone; it runs in its temp directory,
// and what it started is killed with it, at its end or at its timeout.

import { afterAll, describe, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { benchmarks, CASES, ROOT, runCase } from '../../bench/support/smoke-cases.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-smoke-test-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

let scripts = 0;
/** A benchmark of `source`, in a file of its own; returns its path and a temp dir for it. */
function fake(source: string): { file: string; tmp: string } {
  const file = path.join(dir, `fake-${++scripts}.ts`);
  fs.writeFileSync(file, source);
  const tmp = path.join(dir, `tmp-${scripts}`);
  fs.mkdirSync(tmp);
  return { file, tmp };
}

/** Whether `pid` runs: a zombie (killed, its parent gone and pid 1 not reaping) does not. */
const isRunning = (pid: number) => {
  const stat = fs.existsSync(`/proc/${pid}/stat`)
    ? fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    : '';
  return stat !== '' && stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
};

describe('bench:smoke', () => {
  test('every bench:* entry and bench/**/*.bench.ts has a case, and each case a benchmark', () => {
    const files = benchmarks();
    expect([...files.keys()].filter((name) => !CASES.some((c) => c.name === name))).toEqual([]);
    for (const c of CASES) {
      const file = c.file ?? files.get(c.name);
      expect(file === undefined ? c.name : fs.existsSync(path.join(ROOT, file))).toBe(true);
    }
    expect(files.get('country-lookup')).toBe('bench/country-lookup.bench.ts');
    expect(files.get('long-range')).toBe('bench/query/long-range.bench.ts');
  });

  test('passes on exit 0 with the result printed, in its temp directory', async () => {
    const { file, tmp } = fake(
      `import os from 'node:os';\nconsole.log(\`result in \${os.tmpdir()} \${Bun.env.BENCH_OUT_DIR}\`);`,
    );
    const outcome = await runCase({ name: 'fake', result: /^result in / }, file, tmp);
    expect(outcome.ok).toBe(true);
    expect(outcome.output.trim()).toBe(`result in ${tmp} ${path.join(tmp, 'out')}`);
  });

  test('fails without its result, or on exit 1 unless only a target was missed', async () => {
    const quiet = fake("console.log('no table');");
    const noResult = await runCase({ name: 'fake', result: /^table$/m }, quiet.file, quiet.tmp);
    expect(noResult).toMatchObject({ ok: false, why: 'printed no /^table$/m' });

    const missed = fake("console.log('table\\ntargets: 1 missed');\nprocess.exit(1);");
    const c = { name: 'fake', result: /^table$/m, targetMissed: /^targets: \d+ missed$/m };
    expect(await runCase(c, missed.file, missed.tmp)).toMatchObject({
      ok: true,
      why: 'a target missed (not judged)',
    });
    const broken = fake("console.log('table');\nprocess.exit(1);");
    expect(await runCase(c, broken.file, broken.tmp)).toMatchObject({
      ok: false,
      why: 'exited 1',
    });
  });

  test('kills what a benchmark left running, and a benchmark past its timeout', async () => {
    // The child holds the benchmark's stdout: a run that waited for it to close would outlast
    // the test's timeout.
    const { file, tmp } = fake(
      "const child = Bun.spawn(['sleep', '300'], { stdout: 'inherit' });\n" +
        `console.log(\`result \${child.pid}\`);\nchild.unref();`,
    );
    const outcome = await runCase({ name: 'fake', result: /^result \d+$/m }, file, tmp);
    expect(outcome.ok).toBe(true);
    const pid = Number(/^result (\d+)$/m.exec(outcome.output)?.[1]);
    await Bun.sleep(100);
    expect(isRunning(pid)).toBe(false);

    const slow = fake("await Bun.sleep(60_000);\nconsole.log('result');");
    const stopped = await runCase({ name: 'fake', result: /^result$/m }, slow.file, slow.tmp, 500);
    expect(stopped).toMatchObject({ ok: false, why: 'exited 137 (SIGKILL)' });
  });
});
