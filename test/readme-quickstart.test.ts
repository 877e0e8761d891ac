// README "Quick start", "Operations" and Plausible's engagement beacons against the code: the
// curl examples answer what their comments show, and the files the Quick start names
// (package.json, Dockerfile) do what it says. The expected answers are read from the README
// itself, so a README edit that drifts fails here.

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { DATA_DIR_MODE } from '../src/storage/sqlite.ts';
import { makeTestApp, type TestApp } from './helpers/app.ts';

const ROOT = path.join(import.meta.dir, '..');
const README = readFileSync(path.join(ROOT, 'README.md'), 'utf8');

/**
 * The text of a README section, from its heading to the next heading of its level or above
 * (outside code blocks, whose shell comments also start with `#`).
 */
function section(heading: string): string {
  const lines = README.split('\n');
  const start = lines.indexOf(heading);
  if (start < 0) throw new Error(`no section ${heading}`);
  const level = heading.indexOf(' ');
  let fenced = false;
  let end = start + 1;
  for (; end < lines.length; end++) {
    const line = lines[end] ?? '';
    if (line.startsWith('```')) fenced = !fenced;
    const depth = /^(#+) /.exec(line)?.[1]?.length ?? 0;
    if (!fenced && depth > 0 && depth <= level) break;
  }
  return lines.slice(start + 1, end).join('\n');
}

/** The lines of a section's ```sh blocks, `\` continuations and pipes ending a line joined. */
function shLines(text: string): string[] {
  return [...text.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap(([, block = '']) =>
    block.replace(/(\\|\|)\n\s*/g, (_, end: string) => (end === '|' ? '| ' : ' ')).split('\n'),
  );
}

const quickStart = section('## Quick start');
const operations = section('### Operations');
const ingest = section('### Ingest');

let t: TestApp;
beforeAll(async () => {
  t = await makeTestApp();
});
afterAll(() => t.close());

const request = (curl: string) => {
  // The test's clock is T0 (2026-11-25): `$(date -u +%F)` is that day.
  const line = curl.replace('$(date -u +%F)', '2026-11-25');
  return /http:\/\/127\.0\.0\.1:8080(\/[^\s'"]*)/.exec(line)?.[1] ?? '';
};

describe('README Quick start: the curl examples', () => {
  test('the event sent is answered as the comment shows, and read back', async () => {
    const lines = shLines(quickStart);
    const post = lines.findIndex((l) => l.includes('-X POST'));
    const body = /-d '([^']+)'/.exec(lines[post] ?? '')?.[1] ?? '';
    const shown = JSON.parse((lines[post + 1] ?? '').replace(/^#\s*/, ''));
    const res = await t.post(request(lines[post] ?? ''), body);
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual(shown);
    const sent = JSON.parse(body) as Record<string, string>;
    const getLine = lines.find((l) => l.includes(`/api/v1/events/${sent.event_id}`)) ?? '';
    const got = await t.get(request(getLine));
    expect(got.status).toBe(200);
    expect(await got.json()).toMatchObject({ ...sent, tenant: 'default' });
  });

  test("today's stats in UTC count it; another zone's day is read in that zone", async () => {
    const stats = shLines(quickStart).find((l) => l.includes('/api/v1/stats')) ?? '';
    expect(stats).toContain('&tz=UTC');
    const res = await t.get(request(stats));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ total_events: 1, page_views: 1, tz: 'UTC' });
    const berlin = await t.get(`${request(stats).replace('tz=UTC', 'tz=Europe/Berlin')}`);
    expect(await berlin.json()).toMatchObject({
      tz: 'Europe/Berlin',
      from: '2026-11-25T00:00:00+01:00',
      to: '2026-11-26T00:00:00+01:00',
    });
  });

  test('the OpenAPI document, its UI with its assets and the dashboard are served', async () => {
    const gets = shLines(quickStart).filter((l) => /curl -s[I]? http/.test(l));
    const paths = gets.map(request);
    // "# and swagger-ui.css", "# and dashboard.css": the files a comment names beside one.
    for (const line of gets) {
      const also = /# and ([\w.-]+)/.exec(line)?.[1];
      if (also) paths.push(request(line).replace(/[^/]+$/, also));
    }
    expect(paths).toContain('/openapi/assets/swagger-ui.css');
    expect(paths).toContain('/dashboard/dashboard.css');
    for (const p of paths) {
      const res = await t.get(p);
      expect([p, res.status]).toEqual([p, 200]);
    }
  });
});

describe('README Ingest: the curl examples', () => {
  test('the gzipped NDJSON batch is taken whole, with the headers the example sends', async () => {
    const line = shLines(ingest).find((l) => l.startsWith('printf')) ?? '';
    const ndjson = `${[...line.matchAll(/'(\{[^']*\})'/g)].map((m) => m[1]).join('\n')}\n`;
    expect(line).toContain('| gzip |');
    const headers = Object.fromEntries(
      [...line.matchAll(/-H '([^:]+): ([^']+)'/g)].map((m) => [m[1] ?? '', m[2] ?? '']),
    );
    expect(headers).toEqual({
      'content-type': 'application/x-ndjson',
      'content-encoding': 'gzip',
    });
    const res = await t.post(request(line), gzipSync(ndjson), headers);
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ accepted: 2, duplicates: 0 });
  });

  test('the metric data point is taken, answered {"status","id","duplicate"}', async () => {
    const line = shLines(ingest).find((l) => l.includes('/api/v1/metrics')) ?? '';
    const body = /-d '([^']+)'/.exec(line)?.[1] ?? '';
    const res = await t.post(request(line), body);
    expect(res.status).toBe(202);
    const answer = (await res.json()) as Record<string, unknown>;
    expect(Object.keys(answer).sort()).toEqual(['duplicate', 'id', 'status']);
    expect(answer).toMatchObject({ status: 'accepted', duplicate: false });
    const latest = await t.get('/api/v1/metrics/latest/cpu_load');
    expect(await latest.json()).toMatchObject({ value: 0.73, id: answer.id });
  });
});

describe('README Operations: the curl examples', () => {
  test('/health and /ready answer what their comments show', async () => {
    for (const route of ['/health', '/ready']) {
      const line = shLines(operations).find((l) => l.includes(`8080${route} `)) ?? '';
      const shown = /#\s*(\{[^}]*\})/.exec(line)?.[1] ?? '';
      expect([route, await (await t.get(route)).json()]).toEqual([route, JSON.parse(shown)]);
    }
  });

  test('/api/v1/status has exactly the fields its comment lists, with the values shown', async () => {
    const lines = shLines(operations);
    const curl = lines.findIndex((l) => l.includes('/api/v1/status'));
    const after = lines.slice(curl + 1);
    const end = after.findIndex((l) => !l.startsWith('#'));
    const comment = after.slice(0, end < 0 ? after.length : end).join(' ');
    const listed = [...comment.matchAll(/"(\w+)":/g)].map((m) => m[1] ?? '');
    expect(listed.length).toBeGreaterThan(10);
    const status = (await (await t.get('/api/v1/status')).json()) as Record<string, unknown>;
    expect(Object.keys(status).sort()).toEqual([...listed].sort());
    // The values the comment shows as they are, not `…`: no early forgetting, no retention.
    expect(status).toMatchObject({ dedup_remembered_since: null, dedup_dropped_early: 0 });
    expect(status.retention_days).toBe(0);
  });
});

describe('README Quick start: the files it names', () => {
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
    scarfSettings?: { enabled?: boolean };
    devDependencies: Record<string, string>;
  };

  test('npm scripts: start, test, check (biome + tsc + npm test), test:e2e, crash:soak', () => {
    // exec: npm's child is the server, so a signal npm gets (a supervisor's stop) reaches it.
    expect(pkg.scripts.start).toBe('exec bun src/main.ts');
    // Two files at a time, the slowest first, by the times test:timings writes.
    expect(pkg.scripts.test).toStartWith('bun test --timeout 60000 --parallel=2 ');
    expect(pkg.scripts.test).toContain('--timings=test/timings.json');
    expect(pkg.scripts['test:timings']).toContain('--timings=test/timings.json --update-timings');
    expect(pkg.scripts.check).toMatch(/^biome check \. && tsc --noEmit .* && bun run test$/);
    expect(pkg.scripts['test:e2e']).toContain('test/e2e');
    expect(pkg.scripts['crash:soak']).toBe('bun test/integration/crash-soak.ts');
    // Bun comes as a dev dependency, so `npm install` on a machine with only Node brings it.
    expect(Object.keys(pkg.devDependencies)).toContain('bun');
    // The install-time analytics hook of swagger-ui-dist's @scarf/scarf is off.
    expect(pkg.scarfSettings).toEqual({ enabled: false });
  });

  test('the crash soak runs 200 rounds by default, npm test 10, and prints its seed', () => {
    const soak = readFileSync(path.join(ROOT, 'test/integration/crash-soak.ts'), 'utf8');
    expect(soak).toContain('Number(process.argv[2] ?? 200)');
    expect(soak).toContain('process.argv[3]');
    expect(soak).toMatch(/console\.log\(`crash soak: .*CRASH_SEED=\$\{seed\}/);
    const crash = readFileSync(path.join(ROOT, 'test/integration/crash.test.ts'), 'utf8');
    expect(crash).toContain('const ROUNDS = 10;');
  });

  test('.ci/run installs chromium and wrk, runs the gate and the browser suite', () => {
    const ci = readFileSync(path.join(ROOT, '.ci/run'), 'utf8');
    expect(ci).toContain('apt-get install -y -qq chromium wrk');
    for (const step of ['npx biome check .', 'npx tsc --noEmit', '"$BUN" run test ', 'test/e2e']) {
      expect([step, ci.includes(step)]).toEqual([step, true]);
    }
  });

  test('the image runs as a non-root user on 0.0.0.0, stores in /app/data, checks /health', () => {
    const docker = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
    const user = /^USER (\S+)$/m.exec(docker)?.[1];
    expect(user).toBeDefined();
    expect(['root', '0']).not.toContain(user);
    expect(docker).toMatch(/^ENV .*HOST=0\.0\.0\.0/m);
    expect(docker).toMatch(/^ENV .*DATA_DIR=\/app\/data/m);
    expect(docker).toContain('VOLUME ["/app/data"]');
    expect(docker).toMatch(/^HEALTHCHECK [\s\S]*\/health/m);
    expect(docker).toMatch(/^EXPOSE 8080$/m);
  });

  test("the image's health check probes the address HOST names, not 127.0.0.1 alone", async () => {
    const docker = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8').replace(/\\\n/g, '');
    const probe = /^HEALTHCHECK .* CMD (.+)$/m.exec(docker)?.[1] ?? '';
    expect(probe).toStartWith('bun -e ');
    // The image's `bun` is this test's (its file may be named otherwise, e.g. bun-linux-x64).
    const command = `'${process.execPath}'${probe.slice('bun'.length)}`;
    const run = (env: Record<string, string>) =>
      Bun.spawn(['sh', '-c', command], { env, stdout: 'ignore' }).exited;
    // A server on each address HOST may name; the probe passes only on the address served.
    for (const [listen, host, code] of [
      ['::1', '::1', 0],
      ['::1', '[::1]', 0],
      ['::', '::', 0],
      ['0.0.0.0', '0.0.0.0', 0],
      ['127.0.0.1', undefined, 0],
      ['127.0.0.1', 'localhost', 0],
      ['::1', '127.0.0.1', 1],
    ] as const) {
      const server = Bun.serve({
        hostname: listen,
        port: 0,
        fetch: (req) =>
          new Response(null, { status: new URL(req.url).pathname === '/health' ? 200 : 404 }),
      });
      try {
        const env: Record<string, string> = { PORT: String(server.port) };
        if (host !== undefined) env.HOST = host;
        expect([listen, host, await run(env)]).toEqual([listen, host, code]);
      } finally {
        await server.stop(true);
      }
    }
  });

  test('the build context leaves out a local store and node_modules, not what is copied', () => {
    // ./data holds events and secrets (bootstrap.json, tally.sqlite): a build daemon, which
    // may be remote, must not be sent them; the Dockerfile never copies them anyway.
    const ignored = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .filter((line) => line !== '' && !line.startsWith('#'));
    expect(ignored).toEqual(expect.arrayContaining(['data', 'node_modules', '.git']));
    const docker = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
    const copied = [...docker.matchAll(/^COPY (.+) \S+$/gm)].flatMap((m) =>
      (m[1] as string).split(' '),
    );
    expect(copied).toEqual(['package.json', 'package-lock.json', 'src', 'web']);
    for (const file of copied) expect([file, ignored.includes(file)]).toEqual([file, false]);
  });

  test("the image's /app/data is the server's user's alone, as a data directory Tally makes", () => {
    // A volume takes the image directory's owner and mode: made 0755 (mkdir under umask 022),
    // the log and segments (0644 inside, IP addresses with STORE_IP) were readable by every
    // user of the container and, where the volume's parents let them through, of the host.
    const docker = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
    const made = /^RUN install -d -m (\d+) -o (\S+) -g \S+ \/app\/data$/m.exec(docker);
    expect(made).not.toBeNull();
    expect(Number.parseInt(made?.[1] ?? '', 8)).toBe(DATA_DIR_MODE);
    expect(made?.[2]).toBe(/^USER (\S+)$/m.exec(docker)?.[1]);
  });
});

describe("README Plausible's engagement beacons: the curl example", () => {
  test('the beacon sent is the row its SQL example reads back, in open mode as shown', async () => {
    const lines = shLines(section("#### Plausible's engagement beacons"));
    const send = lines.find((l) => l.includes('/api/event')) ?? '';
    const read = lines.find((l) => l.includes('/api/v1/query')) ?? '';
    const bodyOf = (line: string) => /-d '([^']+)'/.exec(line)?.[1] ?? '';
    const sent = await t.post(request(send), bodyOf(send), { 'content-type': 'text/plain' });
    expect(sent.status).toBe(202);
    // The tenant of a Plausible beacon is its site (`d`): the read must name it, as the
    // example does, or it reads `default` and finds nothing.
    const res = await t.post(request(read), bodyOf(read));
    expect(res.status).toBe(200);
    expect(((await res.json()) as { rows: unknown[] }).rows).toEqual([
      ['/pricing', { $scroll_depth: 80, $engagement_time: 12000 }],
    ]);
  });
});
