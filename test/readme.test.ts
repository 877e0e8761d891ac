// README.md against the code: every route the app serves has a curl example in the README, and
// the Settings tables list every variable src/config.ts reads, each with the default and the
// range the code has. The defaults are checked by loading the README's value as the variable's setting: it
// must give the very configuration no setting gives.

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import {
  ACCESS_TOKEN_CHARS_MAX,
  createAuth,
  defaultAuthOptions,
  EMAIL_CHARS_MAX,
  LOGIN_PASSWORD_UNITS_MAX,
  NAME_CHARS_MAX,
  PASSWORD_CHARS_MAX,
  PASSWORD_CHARS_MIN,
  RATE_SWEEP_STEP,
  storedEventsProbe,
} from '../src/auth/index.ts';
import { SESSIONS_PER_USER_MAX } from '../src/auth/sessions.ts';
import { type Config, loadConfig } from '../src/config.ts';
import {
  createLogger,
  defaultTunables,
  erasureLimits,
  eventLimits,
  geoLimits,
  HOUR_MS,
  ManualClock,
  metricLimits,
  noRetryWaitLimits,
  propertyFitLimits,
  rebuildLimits,
  requestLimits,
  retentionLimits,
  signalLimits,
  snapshotLimits,
  startingWaitLimits,
  tenantShareLimits,
} from '../src/core/index.ts';
import * as coreLimits from '../src/core/limits.ts';
import { type Engine, openEngine } from '../src/engine/index.ts';
import { KEY_HASH_LANES } from '../src/engine/key-hash.ts';
import { PLAUSIBLE_DOMAINS_MAX } from '../src/http/compat/plausible.ts';
import { LAST_DAYS_MAX, LAST_MONTHS_MAX } from '../src/http/compat/plausible-query-time.ts';
import { CAPTURE_BODY_MIB_MAX } from '../src/http/compat/posthog.ts';
import { FLAGS_BODY_KIB_MAX } from '../src/http/compat/posthog-config.ts';
import { BULK_EVENTS_MAX, PAGE_NUMBER_MAX } from '../src/http/compat/seed-002-model.ts';
import { PAGES_MAX } from '../src/http/compat/seed-003.ts';
import { METRICS_KIB_MAX } from '../src/http/compat/segment-metrics.ts';
import { UMAMI_BATCH_ITEMS_MAX } from '../src/http/compat/umami.ts';
import {
  FILTER_CHARS_MAX as UMAMI_FILTER_CHARS_MAX,
  UMAMI_PAGE_ROWS_MAX,
} from '../src/http/compat/umami-read-params.ts';
import { createApp, openTenancy } from '../src/http/index.ts';
import { FILE_TENANT_CHARS_MAX } from '../src/http/routes/export.ts';
import { admitSocket } from '../src/live/admission.ts';
import {
  CREDENTIALS_RECHECK_MS,
  CREDENTIALS_RECHECK_SOON_MS,
  CREDENTIALS_UNCHECKED_ROUNDS_MAX,
  defaultLiveLimits,
  LiveHub,
  liveMessageBytesMax,
} from '../src/live/index.ts';
import { cursorCharsMax, queryLimits } from '../src/query/index.ts';
import { KNOWN_SOURCES } from '../src/query/known-sources.ts';
import { CATEGORY_SOURCES } from '../src/query/source-categories.ts';
import { COMMITS_IN_FLIGHT_MAX, RECORD_BYTES_MAX } from '../src/storage/index.ts';
import * as storageLimitsFile from '../src/storage/limits.ts';
import { LOG_IO_THREADS } from '../src/storage/log-io.ts';
import { INLINE_WRITE_BYTES_MAX } from '../src/storage/wal.ts';
import { FRAME_PAYLOAD_BYTES_MAX } from '../src/storage/wal-frame.ts';
import { READ_TIMEOUT_MS, SIGN_IN_TIMEOUT_MS } from '../web/deadline.ts';
import { engineOptions, T0 } from './helpers/app.ts';
import { makeTempDir } from './helpers/temp-dir.ts';

const README = readFileSync(path.join(import.meta.dir, '..', 'README.md'), 'utf8');

/**
 * The README's shell commands: its ```sh blocks, with `\` continuations joined, commands on
 * one line split at ` ; `, and `for x in a b; do … done` loops written out once per value.
 */
function shellCommands(markdown: string): string[] {
  const commands: string[] = [];
  for (const [, block = ''] of markdown.matchAll(/```sh\n([\s\S]*?)```/g)) {
    const lines = block.replace(/\\\n/g, ' ').split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i] ?? '';
      const loop = /^for (\w+) in ([^;]+); do/.exec(line.trim());
      if (loop === null) {
        commands.push(...line.split(' ; '));
        continue;
      }
      const end = lines.findIndex((l, j) => j > i && l.trim() === 'done');
      const [, name = '', values = ''] = loop;
      for (const value of values.trim().split(/\s+/)) {
        for (const body of lines.slice(i + 1, end)) {
          commands.push(body.replaceAll(`$${name}`, value));
        }
      }
      i = end;
    }
  }
  return commands.map((c) => c.trim()).filter((c) => /(^|\|\s*)curl\s/.test(c));
}

interface Example {
  method: string;
  path: string;
}

/** What a curl command asks for: `-X` or, with a body, POST; else GET (`-I`'s HEAD is a GET's). */
function exampleOf(command: string): Example | null {
  const url = /(?:http:\/\/127\.0\.0\.1:8080|\$B)(\/[^\s'"?]*)/.exec(command);
  if (url === null) return null;
  const explicit = /(?:-X|--request)\s+([A-Z]+)/.exec(command)?.[1];
  const hasBody = /\s(?:-d|--data[\w-]*|-F)\s/.test(command);
  return { method: explicit ?? (hasBody ? 'POST' : 'GET'), path: url[1] ?? '' };
}

/** A route path as a pattern: a `:param` matches one segment, as does a README `<placeholder>`. */
function routePattern(routePath: string): RegExp {
  const escaped = routePath
    .split('/')
    .map((segment) =>
      segment.startsWith(':') ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
    )
    .join('/');
  return new RegExp(`^${escaped}$`);
}

describe('README: a curl example for every route', () => {
  let engine: Engine;
  let remove: () => void;
  let routes: Example[];
  beforeAll(async () => {
    const dir = makeTempDir('tally-readme-');
    remove = dir.remove;
    const clock = new ManualClock(T0);
    const log = createLogger('silent', () => {});
    engine = await openEngine(engineOptions(dir.dir, clock));
    // As main.ts builds it: account routes, live routes, every compatibility API.
    const auth = createAuth({
      db: engine.store.sqlite,
      clock,
      options: { passwordCost: { memoryCost: 1024, timeCost: 1 } },
      tenantHoldsEvents: storedEventsProbe(engine.store),
    });
    const live = new LiveHub({ source: engine.registry, clock, limits: defaultLiveLimits, log });
    const app = createApp({
      engine,
      auth,
      tenancy: openTenancy,
      clock,
      log,
      live,
      options: { trustProxy: false, retryAfterSeconds: 1, queryTimeoutMs: 1000, queryRowsMax: 10 },
      isAccepting: () => true,
    });
    routes = (app.routes as { method: string; path: string }[]).map(({ method, path }) => ({
      // A WebSocket route is opened with a GET (the handshake).
      method: method === 'WS' ? 'GET' : method,
      path,
    }));
  });
  afterAll(async () => {
    await engine.close();
    remove();
  });

  test('the app serves the routes this test reads (accounts, live, compatibility)', () => {
    const paths = new Set(routes.map((r) => r.path));
    for (const p of ['/api/v1/auth/login', '/api/v1/live', '/api/v1/ws/metrics', '/v1/batch']) {
      expect(paths).toContain(p);
    }
  });

  test('every route has a curl example with its method and path', () => {
    const examples = shellCommands(README)
      .map(exampleOf)
      .filter((e): e is Example => e !== null);
    const missing = routes
      .filter((r) => r.method !== 'OPTIONS')
      .filter((r) => {
        const pattern = routePattern(r.path);
        return !examples.some((e) => e.method === r.method && pattern.test(e.path));
      })
      .map((r) => `${r.method} ${r.path}`);
    expect(missing).toEqual([]);
    // CORS preflights (OPTIONS) are answered on every browser route alike: one example shows them.
    expect(examples.some((e) => e.method === 'OPTIONS')).toBe(true);
  });

  test('the parser reads the README as a shell would', () => {
    const segment = shellCommands(README).filter((c) => c.includes('$B/v1/'));
    // The loops are written out: one command per Segment call type.
    expect(segment.some((c) => c.includes('$B/v1/screen'))).toBe(true);
    expect(exampleOf("curl -s -X DELETE http://127.0.0.1:8080/api/v1/x -H 'a: b'")).toEqual({
      method: 'DELETE',
      path: '/api/v1/x',
    });
    expect(exampleOf(`curl -s "$B/events?tenant_id=t" -d '{}'`)).toEqual({
      method: 'POST',
      path: '/events',
    });
    expect(routePattern('/api/v1/events/:event_id').test('/api/v1/events/<id>')).toBe(true);
    expect(routePattern('/api/v1/events/:event_id').test('/api/v1/events/a/b')).toBe(false);
  });
});

interface SettingRow {
  names: string[];
  defaults: string[];
  /** The `range` column's cells, a `A` / `B` cell split in two; null in a table without one. */
  ranges: string[] | null;
}

/**
 * The rows of every `| variable | default | [range |] meaning |` table, a `A` / `B` cell split
 * in two.
 */
function settingRows(markdown: string): SettingRow[] {
  const rows: SettingRow[] = [];
  let inTable = false;
  let hasRange = false;
  for (const line of markdown.split('\n')) {
    const cells = line.startsWith('|') ? line.split('|').map((c) => c.trim()) : [];
    if (cells[1] === 'variable' && cells[2] === 'default') {
      inTable = true;
      hasRange = cells[3] === 'range';
      continue;
    }
    if (!inTable || cells.length === 0) {
      inTable = false;
      continue;
    }
    if (/^-+$/.test(cells[1] ?? '')) continue;
    rows.push({
      names: (cells[1] ?? '').split(' / ').map((n) => n.replaceAll('`', '')),
      defaults: (cells[2] ?? '').split(' / ').map((d) => d.trim()),
      ranges: hasRange ? (cells[3] ?? '').split(' / ').map((r) => r.trim()) : null,
    });
  }
  return rows;
}

const UNITS: Record<string, number> = { KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 };
const RANGE_UNITS: Record<string, number> = {
  ...UNITS,
  TiB: 1024 ** 4,
  PiB: 1024 ** 5,
  byte: 1,
  bytes: 1,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/**
 * One end of a `range` cell as the number a setting takes for it: bytes for a size (`1 MiB`),
 * milliseconds for a duration (`24d`; a bare number is ms), else the number itself.
 */
function rangeEnd(text: string): number {
  const m = /^(\d+) ?([A-Za-z]*)$/.exec(text.trim());
  const per = m?.[2] === '' ? 1 : RANGE_UNITS[m?.[2] ?? ''];
  if (m === null || per === undefined) throw new Error(`a range end the test cannot read: ${text}`);
  return Number(m[1]) * per;
}

/** A default cell as the value of its variable: `2s` → 2s, 128 MiB → 134217728; null: none. */
function envValueOf(cell: string): string | null {
  if (['none', '(none)', 'empty', 'unset'].includes(cell)) return null;
  const size = /^(\d+) (KiB|MiB|GiB)$/.exec(cell);
  if (size !== null) return String(Number(size[1]) * (UNITS[size[2] ?? ''] ?? Number.NaN));
  const literal = /^`([^`]+)`$/.exec(cell);
  if (literal !== null) return literal[1] ?? '';
  throw new Error(`a default the test cannot read: ${cell}`);
}

/** The settings the README says have no default value, and what the code has then. */
const UNSET: Record<string, (c: Config) => unknown> = {
  CORS_ORIGINS: (c) => c.corsOrigins,
  LIVE_ALLOWED_ORIGINS: (c) => c.liveAllowedOrigins,
  FAULT_POINT: (c) => c.faultPoint,
};
const UNSET_VALUE: Record<string, unknown> = {
  CORS_ORIGINS: [],
  LIVE_ALLOWED_ORIGINS: [],
  FAULT_POINT: null,
};

describe('README: Settings', () => {
  const rows = settingRows(README);
  const documented = new Set(rows.flatMap((r) => r.names));

  test('every variable config.ts reads is in a Settings table, and no other', () => {
    const read = new Set<string>();
    const env = new Proxy({} as Record<string, string | undefined>, {
      get(_, name) {
        if (typeof name === 'string') read.add(name);
        return undefined;
      },
    });
    loadConfig(env);
    expect(read.size).toBeGreaterThan(50);
    expect([...read].filter((n) => !documented.has(n)).sort()).toEqual([]);
    expect([...documented].filter((n) => !read.has(n)).sort()).toEqual([]);
  });

  test("each default in the tables is the code's", () => {
    const defaults = loadConfig({});
    expect(rows.length).toBeGreaterThan(40);
    const wrong: string[] = [];
    for (const { names, defaults: cells } of rows) {
      expect({ names, cells: cells.length }).toEqual({ names, cells: names.length });
      names.forEach((name, i) => {
        const cell = cells[i] ?? '';
        if (name === 'AUTH_MODE') {
          expect(cell).toBe('`open` on loopback, else `required`');
          expect(defaults.authMode).toBe('open');
          expect(loadConfig({ HOST: '0.0.0.0' }).authMode).toBe('required');
          return;
        }
        const value = envValueOf(cell);
        if (value === null) {
          expect({ name, value: UNSET[name]?.(defaults) }).toEqual({
            name,
            value: UNSET_VALUE[name],
          });
          return;
        }
        // The README's default, set explicitly, gives the configuration of no setting at all.
        if (!Bun.deepEquals(loadConfig({ [name]: value }), defaults))
          wrong.push(`${name}=${value}`);
      });
    }
    expect(wrong).toEqual([]);
  });

  // "validated at start: a bad value stops the process with a message naming the variable and
  // the rule"; "Numbers are whole decimal numbers"; durations take ms, s, m, h or d.
  test('every variable in the tables refuses a bad value, naming it and its rule', () => {
    // Paths: any text is a path, checked when the start opens it (server.test.ts, geoip.test.ts).
    const paths = new Set(['DATA_DIR', 'GEOIP_DB']);
    const accepted: string[] = [];
    const refusedWell = (name: string, value: string) => {
      try {
        loadConfig({ [name]: value });
      } catch (error) {
        const message = (error as Error).message;
        // The variable, the value as given and a rule after it.
        const named = `${name}=${JSON.stringify(value)}: `;
        const line = message.split('\n').find((l) => l.includes(named)) ?? '';
        return /\w/.test(line.slice(line.indexOf(named) + named.length));
      }
      accepted.push(`${name}=${value}`);
      return true;
    };
    const notWell: string[] = [];
    let tried = 0;
    for (const { names, defaults } of rows) {
      names.forEach((name, i) => {
        if (paths.has(name)) return;
        const cell = defaults[i] ?? '';
        const bad = ['not valid!'];
        if (/^`\d+`$|^\d+ [KMG]iB$/.test(cell)) bad.push('1.5', '1e3', '0x10', '-1');
        if (/^`\d+(ms|s|m|h|d)`$/.test(cell)) bad.push('1.5s', '-1s', '10 s', '2w');
        for (const value of bad) if (!refusedWell(name, value)) notWell.push(`${name}=${value}`);
        tried += bad.length;
      });
    }
    expect(tried).toBeGreaterThan(200);
    expect(accepted).toEqual([]);
    expect(notWell).toEqual([]);
  });
  // Every setting is listed with its bounds: a number's, size's or duration's two ends are
  // taken and the values just past them refused by the setting's own rule (a relation to
  // another setting, such as MAILBOX_EVENTS_MAX ≤ half of COMMIT_QUEUE_EVENTS_MAX, is not the
  // range: the README states those apart); a list of values is exactly the values taken.
  test('each range in the tables is the values the code takes', () => {
    /** The setting's own refusal of `value`, if any: the line naming the variable and value. */
    const refusal = (name: string, value: string) => {
      try {
        loadConfig({ [name]: value });
        return null;
      } catch (error) {
        const named = `${name}=${JSON.stringify(value)}: `;
        return (error as Error).message.split('\n').find((l) => l.includes(named)) ?? null;
      }
    };
    const ranged = rows.filter((r) => r.ranges !== null);
    expect(ranged.length).toBeGreaterThan(40);
    const wrong: string[] = [];
    const check = (name: string, value: string, taken: boolean) => {
      if ((refusal(name, value) === null) !== taken) {
        wrong.push(`${name}=${value} ${taken ? 'refused' : 'taken'}`);
      }
    };
    for (const { names, defaults, ranges } of ranged) {
      expect({ names, ranges: ranges?.length }).toEqual({ names, ranges: names.length });
      names.forEach((name, i) => {
        const cell = ranges?.[i] ?? '';
        const valueDefault = /^`-?\d+(ms|s|m|h|d)?`$|^\d+ [KMG]iB$/.test(defaults[i] ?? '');
        if (cell === '—') {
          // Free text: no number, size or duration, no boolean and no list of values, but
          // FAULT_POINT's steps (tests only), which the README leaves to src/storage/faults.ts.
          const rule = refusal(name, 'not-one-of-them') ?? '';
          const listed = name !== 'FAULT_POINT' && /must be (one of|true or false)/.test(rule);
          if (valueDefault || listed) wrong.push(`${name}: a range of — (${rule})`);
          return;
        }
        if (cell === 'boolean') {
          for (const v of ['1', '0', 'true', 'false', 'yes', 'no', 'on', 'off']) {
            check(name, v, true);
          }
          check(name, 'maybe', false);
          return;
        }
        const values = [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1] ?? '');
        if (/^`[^`]+`(, `[^`]+`)+$/.test(cell)) {
          for (const v of values) check(name, v, true);
          const rule = refusal(name, 'not-one-of-them') ?? '';
          if (!rule.endsWith(`must be one of ${values.join(', ')}`)) {
            wrong.push(`${name}: refused as "${rule}", not as one of ${cell}`);
          }
          return;
        }
        // `0` or lo–hi: 0, and lo to hi (DEDUP_WINDOW); else lo–hi.
        const range = /^(?:`0` or )?([^–]+)–(.+)$/.exec(cell);
        if (range === null) {
          wrong.push(`${name}: a range the test cannot read: ${cell}`);
          return;
        }
        const lo = rangeEnd(range[1] ?? '');
        const hi = rangeEnd(range[2] ?? '');
        if (cell.startsWith('`0` or ')) check(name, '0', true);
        check(name, String(lo), true);
        check(name, String(hi), true);
        check(name, String(lo - 1), cell.startsWith('`0` or ') && lo - 1 === 0);
        check(name, String(hi + 1), false);
      });
    }
    expect(wrong).toEqual([]);
  });

  // The relations the prose lists ("Settings also keep relations … : A at most B; …") are the
  // ones config.ts refuses at start, each item naming both of its settings.
  test('the relations the prose lists are the ones config.ts checks', () => {
    const source = readFileSync(path.join(import.meta.dir, '..', 'src', 'config.ts'), 'utf8');
    const checked = [...source.matchAll(/'([A-Z_]+) must [a-z ]+ ([A-Z_]+)'/g)].map(
      ([, a = '', b = '']) => [a, b].sort().join(' & '),
    );
    expect(checked.length).toBeGreaterThanOrEqual(5);
    const text = README.replace(/\s+/g, ' ');
    const list = /Settings also keep relations[^:]*: (.*?)\. \| variable/.exec(text)?.[1] ?? '';
    const listed = list.split('; ').map((item) =>
      [...item.matchAll(/`([A-Z_]+)`/g)]
        .map((m) => m[1] ?? '')
        .sort()
        .join(' & '),
    );
    expect(listed.sort()).toEqual(checked.sort());
  });
});

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
/** A count as the README writes it: 1,000. */
const count = (n: number) => n.toLocaleString('en-US');
/** A number in exponent form as the README writes it: 1e292. */
const exponent = (n: number) => String(n).replace('e+', 'e');
/** A size as the README writes it: 64 KiB, 5 MiB, 1 GiB. */
function size(bytes: number): string {
  for (const [unit, per] of [
    ['GiB', GiB],
    ['MiB', MiB],
    ['KiB', KiB],
  ] as const) {
    if (bytes % per === 0) return `${bytes / per} ${unit}`;
  }
  return `${bytes} bytes`;
}

describe("README: the numbers it states are the code's limits", () => {
  // Line breaks and indentation fall anywhere in a paragraph: compare with spaces collapsed.
  const text = README.replace(/\s+/g, ' ');
  const q = queryLimits;
  const e = eventLimits;
  const r = requestLimits;
  const live = defaultLiveLimits;

  test('reads and SQL', () => {
    const phrases = [
      `\`limit\` 1–${count(q.pageMax)} (${q.pageDefault} by default)`,
      `\`top\` 1–${q.topMax} (${q.topDefault})`,
      `\`series\` 1–${q.seriesMax} (${q.seriesDefault}) groups`,
      `at most ${count(q.bucketsMax)} buckets per series or aggregate`,
      `A \`cursor\` is at most ${count(cursorCharsMax)} characters`,
      `run at most ${q.tenantReadsRunningMax} at once in the server's DuckDB; up to ` +
        `${q.tenantReadsWaitingMax} more wait their turn`,
      `at most ${q.sqlProcessesMax} statements run at once, at most ${q.sqlTenantProcessesMax} ` +
        'of one tenant',
      `is at most ${size(q.sqlBodyBytesMax)} (\`413\`); a statement is at most ` +
        `${count(q.sqlCharsMax)} characters with at most ${q.sqlParamsMax} parameters`,
      `Its DuckDB (${size(q.sqlDuckDbBytesMax)}, ${q.sqlThreads} threads) spills at most ` +
        size(q.sqlSpillBytesMax),
      `past ${size(q.sqlProcessBytesMax)} of resident memory`,
      `a lower CPU priority than the server (nice ${q.sqlProcessNice} above it)`,
      `${q.sqlResultCharsMax / MiB}M characters of JSON rows`,
      `(\`400\`) is cut to ${count(q.sqlMessageCharsMax)} characters`,
      `a value nested more than ${count(q.sqlValueDepthMax)} levels deep`,
      `within ${q.sqlStartMsMax / 1000} s, else \`503\``,
      `read in keyset pages of up to ${count(q.exportPageRows)} events and ` +
        `${size(q.exportPageBytes)} of their JSON text`,
      `read in pages of up to ${count(q.exportPageRows)} events and ` +
        `${size(q.exportPageBytes)} of JSON (\`exportPageRows\`, \`exportPageBytes\`)`,
      `A later page waits ${q.exportPageRetryMs} ms (\`exportPageRetryMs\`)`,
      `sent in chunks of ${size(q.exportFileChunkBytes)} (\`exportFileChunkBytes\`)`,
      `is sent in chunks of ${size(q.exportFileChunkBytes)}`,
      `takes nothing more for ${q.exportStallMsMax / 60_000} minutes (\`exportStallMsMax\`)`,
      `at most ${q.exportsPerTenantMax} exports of one project are sent at once`,
      `or ${q.exportsPerTenantMax} of whose exports are being sent (\`exportsPerTenantMax\`)`,
      `a timestamp more than ${metricLimits.pointClockSkewMs / 60_000} minutes ahead of receipt`,
      `longest \`returned\` list, 1 to ${q.cohortPeriodsMax}; ${q.cohortPeriodsDefault} by default`,
      `At most ${q.cohortsMax} cohorts`,
      `at most ${q.cohortsMax} cohorts and ${q.cohortPeriodsMax} periods followed`,
    ];
    expect(phrases.filter((phrase) => !text.includes(phrase))).toEqual([]);
  });

  test('the event and the ingest routes', () => {
    const phrases = [
      `| \`event_id\` | string | 1–${e.eventIdCharsMax} chars;`,
      `\`^[A-Za-z0-9][A-Za-z0-9._:-]*$\`, ≤ ${e.tenantCharsMax}; \`default\` when absent`,
      `required, 1–${e.nameCharsMax} chars, not blank`,
      `≤ ${e.futureSkewMs / 3_600_000} h in the future`,
      `\`source\` | string | 1–${e.idCharsMax} chars (an empty one is a \`422\``,
      `\`url\` | string | ≤ ${count(e.urlCharsMax)} chars (\`path\` at least 1;`,
      `≤ ${count(e.userAgentCharsMax)} / ≤ ${e.ipCharsMax} chars`,
      `≤ ${e.propertiesKeysMax} keys, ≤ ${e.propertiesBytesMax / KiB} KB serialized`,
      `A body over ${e.eventBytesMax / KiB} KB may nest arrays and objects at most ` +
        `${r.jsonDepthMax} levels deep`,
      `A body must arrive whole within ${r.bodyReadTimeoutMs / 1000} s once its route reads it`,
      `One event ≤ ${e.eventBytesMax / KiB} KB`,
      `stored event may be up to ${e.storedEventBytesMax / KiB} KB`,
      `a batch ≤ ${count(r.batchEventsMax)} events and ≤ ${size(r.bodyBytesMax)}`,
      `at most ${propertyFitLimits.cutNamesListedMax} (\`cutNamesListedMax\`; past it ` +
        `${propertyFitLimits.cutNamesListedMax - 1} names and \`"+N more"\`), each cut to ` +
        `${propertyFitLimits.cutNameCharsMax} characters (\`cutNameCharsMax\`)`,
      `the \`first\` ${propertyFitLimits.cutLoggedEventsMax} (\`cutLoggedEventsMax\`)`,
      `| \`duration\` | number | seconds, 0 to ${exponent(e.durationSecondsMax)} (\`422\` beyond)`,
      `| \`value\` | number | the value of a metric data point; within ` +
        `±${exponent(metricLimits.valueAbsMax)} (\`422\` beyond)`,
      `fewer than ${noRetryWaitLimits.waitingRequestsMax} requests wait for room`,
    ];
    expect(phrases.filter((phrase) => !text.includes(phrase))).toEqual([]);
  });

  test('the write-ahead log', () => {
    const phrases = [
      `Up to ${COMMITS_IN_FLIGHT_MAX} groups are in flight at once`,
      `Writes over ${size(INLINE_WRITE_BYTES_MAX)} go to an I/O thread`,
      `such writes run on ${LOG_IO_THREADS} threads of its own`,
      `one record, split past ${size(RECORD_BYTES_MAX)} (a frame over ` +
        `${size(FRAME_PAYLOAD_BYTES_MAX)} reads as damage)`,
    ];
    expect(phrases.filter((phrase) => !text.includes(phrase))).toEqual([]);
  });

  // "How it stores events": the dedup index keeps 128-bit hashes, 16 bytes a slot, and two ids
  // collide with probability about n²/2¹²⁹ (1.5·10⁻²¹ for 10⁹ ids).
  test("the dedup index's hashes", () => {
    const bits = KEY_HASH_LANES * 32; // Int32 lanes
    expect(text).toContain(`It keeps ${bits}-bit hashes of the keys in typed-array tables`);
    expect(text).toContain(`(${bits / 8} bytes a slot,`); // a slot holds one hash
    expect(text).toContain(`probability about n²/2¹²⁹ (1.5·10⁻²¹ for 10⁹ ids)`);
    expect(bits + 1).toBe(129);
    expect(((1e9 * 1e9) / 2 ** 129).toPrecision(2)).toBe('1.5e-21');
  });

  test('live counters and accounts', () => {
    const phrases = [
      `\`names\` (at most ${live.subscribeNamesMax}, each 1–${e.nameCharsMax} characters)`,
      `may send ${live.clientMessageBurstMax} messages at once, then one more every ` +
        `${live.clientMessageIntervalMs} ms`,
      `share at most ${live.filtersPerTenantMax} distinct \`names\` filters`,
      `a client message over ${size(live.clientMessageBytesMax)}`,
      `more than ${size(live.wsBufferedBytesMax)} of messages queued`,
      `the top ${live.namesShownMax} names`,
      `| the ${snapshotLimits.topPathsShownMax} most viewed paths (events named`,
      `at most ${live.namesShownMax} without a \`names\` filter`,
      `A live message is at most ${size(liveMessageBytesMax(live))} (computed from the limits`,
      `lists at most ${live.namesShownMax} names in each of its 4 windows and ` +
        `${live.namesShownMax} latest metrics`,
      `(at most ${live.subscribeNamesMax}, in a client message of at most ` +
        `${size(live.clientMessageBytesMax)})`,
      `a window lists ${snapshotLimits.topPathsShownMax} top paths of at most ` +
        `${snapshotLimits.pathCharsShownMax} characters`,
      `nothing changed for ${live.heartbeatIntervalMs / 1000} seconds`,
      `at most one every ${live.pushIntervalMs} ms`,
      `checked again every ${CREDENTIALS_RECHECK_MS / 1000} s`,
      `at most ${CREDENTIALS_RECHECK_SOON_MS / 1000} s after the previous such check`,
      `could not be checked ${CREDENTIALS_UNCHECKED_ROUNDS_MAX} times in a row, ` +
        `${(CREDENTIALS_UNCHECKED_ROUNDS_MAX * CREDENTIALS_RECHECK_MS) / 1000} s`,
      `all live sockets together hold more than ${size(live.wsBufferedBytesTotalMax)}`,
      `stay within its read places (${q.tenantReadsRunningMax} running, ` +
        `${q.tenantReadsWaitingMax} waiting)`,
      `a body over ${size(r.accountBodyBytesMax)} is \`413\``,
      `password ≥ ${PASSWORD_CHARS_MIN} chars and ≤ ${PASSWORD_CHARS_MAX}, a \`name\` (of a ` +
        `user, a project or a key) ≤ ${NAME_CHARS_MAX} (\`422\` beyond)`,
      `An access token (\`Authorization: Bearer …\`) is at most ${count(ACCESS_TOKEN_CHARS_MAX)} ` +
        'characters: a longer one is `401` (`invalid access token`',
      `an email over ${EMAIL_CHARS_MAX} characters or a password over ` +
        `${LOGIN_PASSWORD_UNITS_MAX} UTF-16 units`,
    ];
    expect(phrases.filter((phrase) => !text.includes(phrase))).toEqual([]);
  });

  // README "Limits": each limit it names by its code name is one, with the value it states.
  test('the Limits entries: names of the code, and their values', () => {
    const objects = {
      eventLimits,
      requestLimits,
      propertyFitLimits,
      metricLimits,
      queryLimits,
      erasureLimits,
      retentionLimits,
      tenantShareLimits,
      geoLimits,
    };
    const known = new Set(Object.values(objects).flatMap((o) => Object.keys(o)));
    const named = [...README.matchAll(/`([a-z][a-zA-Z]*(?:Max|Ms|Rows|Bytes|Min|Default))`/g)];
    const unknown = [...new Set(named.map((m) => m[1] ?? ''))].filter((n) => !known.has(n));
    expect(unknown).toEqual([]);
    const erasures = erasureLimits;
    const create = defaultAuthOptions.rates.projectCreate;
    const phrases = [
      `at most ${erasures.erasuresPendingPerProjectMax} erasures pending per project ` +
        '(`erasuresPendingPerProjectMax`; `409` `limit_reached` beyond)',
      `the list shows the newest ${erasures.erasuresListedMax} (\`erasuresListedMax\`)`,
      `asked for at most ${erasures.erasuresBurstMax} at once (\`erasuresBurstMax\`), ` +
        `then one every ${erasures.erasureRefillMs / 1000} s (\`erasureRefillMs\`), per project`,
      `at most ${q.stepPropertiesMax} property conditions of its own (\`stepPropertiesMax\`;`,
      `(at most ${q.propertyFiltersMax} combined, \`propertyFiltersMax\`; more is a \`422\`)`,
      `a value 1 to ${count(q.stepPropertyValueCharsMax)}, \`stepPropertyValueCharsMax\``,
      `it lists the ${q.funnelBreakdownValuesMax} values with the most actors entered ` +
        '(`funnelBreakdownValuesMax`',
      `\`retention_days\` and \`RETENTION_DAYS\` are 1–${retentionLimits.retentionDaysMax} days`,
      `projects are created at most ${create.burst} at once, then one a minute, per user`,
      `(\`DEDUP_WINDOW\`, ${defaultTunables.dedupWindowMs / 86_400_000} days)`,
      `\`MAILBOX_EVENTS_MAX\` events, or half of \`COMMIT_QUEUE_BYTES_MAX\` in encoded bytes`,
      `the default ${defaultTunables.dedupKeysMax / 1e6}M is ~0.5–1 GB`,
      `within ¾ of \`SHUTDOWN_DEADLINE\` (${(defaultTunables.shutdownDeadlineMs * 3) / 4000} s ` +
        `of ${defaultTunables.shutdownDeadlineMs / 1000} s)`,
      `the countries of the last ${count(geoLimits.recentAddressesMax)} addresses are kept`,
      `The reference services' reads answer at most ${count(q.bucketsMax)} rows (\`bucketsMax\`)`,
      `pages hold at most ${count(q.pageMax)} events (\`pageMax\`)`,
      `up to page ${count(PAGE_NUMBER_MAX)}, and seed 003 takes at most ${PAGES_MAX} \`pages\``,
    ];
    expect(phrases.filter((phrase) => !text.includes(phrase))).toEqual([]);
    expect(create.perSecond).toBe(1 / 60);
    expect(retentionLimits.retentionPassIntervalMs).toBe(HOUR_MS); // "then every hour"
    expect(tenantShareLimits.mailboxQueueBytesShare).toBe(1 / 2);
    // "once it is three quarters full", "only once it is three quarters full"
    expect(text).toContain('three quarters full (`tenantShareLimits.hotPressureShare`)');
    expect(tenantShareLimits.hotPressureShare).toBe(3 / 4);
  });

  // Limits the tests above do not state, each with its value as the README writes it.
  test('the limits of the compatibility reads, the noRetry wait, countries and storage', () => {
    const wait = noRetryWaitLimits;
    const phrases = [
      `\`limit\` 1–${count(q.breakdownRowsMax)} (default ${q.breakdownRowsDefault}) and ` +
        `\`page\` from 1 (at most ${count(q.breakdownPageMax)})`,
      `breakdown rows are at most ${count(q.breakdownRowsMax)} a page and ` +
        `${count(q.breakdownPageMax)} pages`,
      `At most ${q.webFiltersMax} conditions of at most ${q.webFilterValuesMax} alternatives`,
      `At most ${q.webFiltersMax} filters, ${q.webFilterValuesMax} values each, nested ` +
        `${q.webFilterDepthMax} deep`,
      `gzip allowed), at most ${size(q.statsQueryBytesMax)} (\`413\` beyond)`,
      `at most ${q.statsQueryDimensionsMax} dimensions, one of them a time`,
      `{"limit": 1–${q.statsQueryRowsMax} (default ${q.statsQueryRowsMax}), "offset": ` +
        `0–${q.statsQueryOffsetMax}}`,
      `visitors with an event in the last ${q.currentVisitorsWindowMs / 60_000} minutes`,
      `${q.funnelStepsMin}–${q.funnelStepsMax} steps, a window of ` +
        `${q.funnelWindowMsMin / 1000} second to ${q.funnelWindowMsMax / 86_400_000} days`,
      `${q.funnelWindowMsDefault / 86_400_000} days by default (PostHog's)`,
      `is at most ${String(metricLimits.valueAbsMax).replace('+', '')} in magnitude ` +
        '(`metricLimits.valueAbsMax`',
      `\`duration\` is at most ${String(eventLimits.durationSecondsMax).replace('+', '')} ` +
        'seconds (`eventLimits.durationSecondsMax`',
      `names at most ${r.contentCodingsMax} gzip codings (\`requestLimits.contentCodingsMax\`;`,
      `more than ${r.contentCodingsMax} gzips, is \`415\``,
      `\`0\` = never, at most \`${wait.waitMsMax / 1000}s\`; at most ` +
        `${wait.waitingRequestsMax} such requests wait at once`,
      `a backoff of ${wait.backoffFirstMs} ms to ${wait.backoffMaxMs} ms`,
      `(\`NO_RETRY_WAIT\`, ${wait.waitMsDefault / 1000} s by default)`,
      `waits instead, up to ${startingWaitLimits.waitMs / 1000} s, and is served once the store ` +
        `is open (${startingWaitLimits.waitingRequestsMax} such requests at once;`,
      `one within ${signalLimits.repeatMs / 1000} s of the first is that one delivered twice`,
      `up to ${count(geoLimits.recordCacheEntriesMax)} of the database's decoded records`,
      `the first ${geoLimits.checkRecordsMax} records that hold data, walking at most ` +
        `${count(geoLimits.checkLookupsMax)} networks`,
      `websites, sessions and events ${UMAMI_PAGE_ROWS_MAX} a page and ` +
        `${count(q.breakdownPageMax)} pages at most`,
      `one event per site, at most ${PLAUSIBLE_DOMAINS_MAX} sites (\`400\` beyond)`,
      `any \`<n>d\` up to \`${LAST_DAYS_MAX}d\``,
      `\`<n>mo\` up to \`${LAST_MONTHS_MAX}mo\``,
      `\`/events/bulk\` (at most ${count(BULK_EVENTS_MAX)} events, \`422\` beyond)`,
      `a body of at most ${FLAGS_BODY_KIB_MAX} KiB, \`413\` beyond) answered as for a project`,
      `PostHog's capture routes take a body of up to ${CAPTURE_BODY_MIB_MAX} MiB`,
      `batch over 5,000 events or ${CAPTURE_BODY_MIB_MAX} MiB, PostHog's own limit`,
      `a body of at most ${METRICS_KIB_MAX} KiB: a \`400\` beyond, as Segment's)`,
      `\`/api/batch\` (at most ${UMAMI_BATCH_ITEMS_MAX} items, \`413\` beyond)`,
      `each a value of at most ${UMAMI_FILTER_CHARS_MAX} characters`,
      `hold, at most ${q.webFiltersMax} of them (\`400\` beyond either bound)`,
      `and it keeps the tenant's first ${FILE_TENANT_CHARS_MAX})`,
      `longer than ${storageLimitsFile.storageLimits.tenantDirBytesMax} bytes`,
      `\`+\` and ${storageLimitsFile.storageLimits.tenantDirHashHexChars} hex digits of its SHA-256`,
      `${storageLimitsFile.storageLimits.flushFailuresNotReadyMin} flushes to segments in a row`,
      `take at most ${size(rebuildLimits.deferredBytesMax)} of their stored lines ` +
        '(`rebuildLimits.deferredBytesMax`;',
      `holding up to ${count(q.eventsOnceRowsMax)} events (\`queryLimits.eventsOnceRowsMax\`,`,
      `over ${q.eventsOnceFilesMin} segment files or more (\`queryLimits.eventsOnceFilesMin\``,
    ];
    expect(phrases.filter((phrase) => !text.includes(phrase))).toEqual([]);
  });

  // The Limits entries on live sockets, accounts, rate limits, waits and the dedup index: the
  // numbers they state beside a code name, or worked out from the defaults.
  test('the Limits entries on sockets, accounts, rate limits, waits and the dedup index', () => {
    const a = defaultAuthOptions;
    const hashes = a.passwordHashes;
    const wait = noRetryWaitLimits;
    const allQueued = live.subscribersMax * live.wsBufferedBytesMax;
    const phrases = [
      `\`LIVE_SUBSCRIBERS_MAX\` × \`LIVE_WS_BUFFERED_BYTES_MAX\` (~${Math.round(allQueued / GiB)} GiB)`,
      `Live sockets hold at most ${size(live.wsBufferedBytesTotalMax)} queued together`,
      `${a.bounds.projectsPerUserMax} projects owned per user (\`PROJECTS_PER_USER_MAX\`), and ` +
        `per project ${a.bounds.keysPerProjectMax} keys not revoked (\`KEYS_PER_PROJECT_MAX\`), ` +
        `${a.bounds.aliasesPerProjectMax} aliases (\`ALIASES_PER_PROJECT_MAX\`), ` +
        `${count(a.bounds.membersPerProjectMax)} members (\`MEMBERS_PER_PROJECT_MAX\`) and ` +
        `${a.bounds.invitationsPerProjectMax} pending invitations`,
      `a user keeps ${SESSIONS_PER_USER_MAX} sessions (\`SESSIONS_PER_USER_MAX\``,
      `refresh tokens are rotated at most ${a.rates.refreshUser.burst} at once, then one a minute`,
      `and at most ${hashes.waitingMax} wait for their turn (\`defaultPasswordHashLimits\``,
      `while ${hashes.runningMax + hashes.waitingMax} are being checked, is \`503\``,
      `(${count(a.rateKeysMax)} by default: one per client address`,
      `A new key looks at ${RATE_SWEEP_STEP} buckets at most (\`RATE_SWEEP_STEP\``,
      `holds one of the tenant's ${q.tenantReadsRunningMax} read places`,
      `a PostHog capture waits up to ${startingWaitLimits.waitMs / 1000} s for it instead`,
      `when ${wait.waitingRequestsMax} requests wait already ` +
        '(`noRetryWaitLimits.waitingRequestsMax`',
      `at most ${wait.waitingRequestsMax} × ${size(r.bodyBytesMax)} ` +
        `(\`requestLimits.bodyBytesMax\`), ${size(wait.waitingRequestsMax * r.bodyBytesMax)}`,
      `polls (${wait.backoffFirstMs} ms doubling to ${wait.backoffMaxMs} ms;`,
    ];
    expect(phrases.filter((phrase) => !text.includes(phrase))).toEqual([]);
    // "one at a time"; "about 10 logins a second" at ~0.1 s a hash.
    expect(hashes.runningMax).toBe(1);
    // "At 100k new ids a second the default fills in under 4 minutes".
    expect(text).toContain('At 100k new ids a second the default fills in under 4 minutes');
    expect(defaultTunables.dedupKeysMax / 100_000).toBeLessThan(4 * 60);
    // "a value … 2^53 points at the limit still sum to a number".
    expect(Number.isFinite(2 ** 53 * metricLimits.valueAbsMax)).toBe(true);
    expect(Number.isFinite(2 ** 53 * eventLimits.durationSecondsMax)).toBe(true);
  });

  // README "Limits": the dashboard's bounds on a read and a sign-in, and the sizes of the
  // tables that name sources and their channels ("about", rounded as the README rounds them).
  test("the dashboard's deadlines, and the tables of sources and channels", () => {
    const queryTimeoutS = defaultTunables.queryTimeoutMs / 1000;
    const rounds = q.tenantReadsWaitingMax / q.tenantReadsRunningMax;
    const categories = Object.values(CATEGORY_SOURCES).flat().length;
    const phrases = [
      `gives each read and its check of access ${READ_TIMEOUT_MS / 60_000} minutes ` +
        '(`READ_TIMEOUT_MS` in `web/deadline.ts`)',
      `one may wait behind ${q.tenantReadsWaitingMax} others of its project, run ` +
        `${q.tenantReadsRunningMax} at a time: at ${queryTimeoutS} s a read that is ${rounds} ` +
        `rounds, under ${READ_TIMEOUT_MS / 60_000} minutes`,
      `A sign-in or a token refresh is given ${SIGN_IN_TIMEOUT_MS / 1000} s (\`SIGN_IN_TIMEOUT_MS\`)`,
      `Sources are named for about ${Math.round(KNOWN_SOURCES.length / 10) * 10} well-known`,
      `Channels read a table of about ${Math.round(categories / 25) * 25} source categories`,
    ];
    expect(phrases.filter((phrase) => !text.includes(phrase))).toEqual([]);
    expect((rounds + 1) * defaultTunables.queryTimeoutMs).toBeLessThan(READ_TIMEOUT_MS);
  });

  // The worked examples of the shared budgets (Limits) at the defaults: the hot tier's parts,
  // and five projects connecting live sockets one each in turn until each is refused.
  test("the shared budgets' examples are what the defaults give", () => {
    const hotMax = defaultTunables.hotBytesMax;
    const hotPart = Math.floor(hotMax / 5);
    expect(text).toContain(
      `with the default ${size(hotMax)}, four projects flooding together stop near ` +
        `${Math.floor(hotPart / MiB)} MiB each and leave about ` +
        `${Math.floor((hotMax - 4 * hotPart) / MiB)} MiB`,
    );
    const held = [0, 0, 0, 0, 0];
    for (let admitted = true; admitted; ) {
      admitted = false;
      held.forEach((count, i) => {
        const sockets = held.reduce((a, b) => a + b, 0);
        const all = { sockets, tenants: held.filter((n) => n > 0).length };
        if (admitSocket(live, all, `p${i}`, count).kind === 'ok') {
          held[i] = count + 1;
          admitted = true;
        }
      });
    }
    const left = live.subscribersMax - held.reduce((a, b) => a + b, 0);
    expect(new Set(held).size).toBe(1);
    expect(text).toContain(
      `five projects alone connecting in turn stop at ${count(held[0] ?? 0)} sockets each ` +
        `and leave ${count(left)}`,
    );
  });

  // Every limit of the limits files (core/limits.ts and each module's limits.ts) is stated with
  // its value: by a phrase of the tests above (each names it as `<object>.<key>` there), as a
  // setting's default (the Settings tests), or it is work scheduling no client sees, said so
  // here. A limit added to a limits file without either fails here.
  test('every limit of the limits files is stated in the README, or is internal', () => {
    const internal: Record<string, string> = {
      tickIntervalMs: 'how often the hub looks for changes; the README states the 1 s bound',
      refreshIntervalMs: "how often an unchanged tenant's snapshot is rebuilt as windows slide",
      tickSnapshotsPerTurnMax: 'slices of a tick ("done in short slices")',
      tickTenantsPerTurnMax: 'slices of a tick ("done in short slices")',
      tickTopicsPerTurnMax: 'slices of a tick ("done in short slices")',
      recheckCredentialsPerTurnMax: 'slices of the credentials round (every 5 s, stated)',
      recheckSocketsPerTurnMax: 'slices of the credentials round (every 5 s, stated)',
    };
    const source = readFileSync(import.meta.path, 'utf8');
    const statedHere = (key: string) => new RegExp(`\\.${key}\\b`).test(source);
    const settings = loadConfig({});
    const objects: Record<string, unknown> = {
      ...coreLimits,
      ...storageLimitsFile,
      queryLimits,
      defaultLiveLimits,
    };
    const unstated: string[] = [];
    for (const [objectName, limits] of Object.entries(objects)) {
      if (typeof limits !== 'object' || limits === null) continue;
      for (const key of Object.keys(limits)) {
        const setting =
          (objectName === 'defaultTunables' && key in settings) ||
          (objectName === 'defaultLiveLimits' && key in settings.live);
        if (!setting && !statedHere(key) && internal[key] === undefined) {
          unstated.push(`${objectName}.${key}`);
        }
      }
    }
    expect(unstated).toEqual([]);
  });
});

// The numbers of Reads' Funnels, Cohort retention and Exporting raw events that the tests above
// do not state, each as the README writes it there.
describe('README: the numbers of funnels, cohorts and exports are the code’s', () => {
  const text = README.replace(/\s+/g, ' ');
  const q = queryLimits;
  const e = eventLimits;
  const DAY = 86_400_000;
  const rounds = CREDENTIALS_UNCHECKED_ROUNDS_MAX;

  test('as the sections state them', () => {
    const phrases = [
      `${q.funnelStepsMin} to ${q.funnelStepsMax} steps (PostHog's most)`,
      `conditions, as many as ${q.stepPropertiesMax}, all of which must hold`,
      `Keys are 1 to ${e.nameCharsMax} characters, values 1 to ` +
        `${count(q.stepPropertyValueCharsMax)} (no empty value; a longer one could never ` +
        `match: an event's properties are at most ${e.propertiesBytesMax / KiB} KiB)`,
      `Names are at most ${e.nameCharsMax} characters, paths ${count(e.urlCharsMax)}.`,
      `more than ${q.stepPropertiesMax} conditions`,
      `fewer than ${q.funnelStepsMin} or more than ${q.funnelStepsMax} steps`,
      `from ${q.funnelWindowMsMin / 1000} second to ${q.funnelWindowMsMax / DAY} days; ` +
        `${q.funnelWindowMsDefault / DAY} days by default (PostHog's)`,
      `a key of 1 to ${e.nameCharsMax} characters, numbers and booleans as their JSON text`,
      `**Listed values**: the ${q.funnelBreakdownValuesMax} (PostHog's \`breakdown_limit\``,
      `a page holds at least one event, so at most ${size(q.exportPageBytes)} + ` +
        `${e.storedEventBytesMax / KiB} KB)`,
      `A later page that finds them full waits (${q.exportPageRetryMs} ms at a time)`,
      `every ${CREDENTIALS_RECHECK_MS / 1000} s as a live socket's are`,
      `only ${rounds} such checks in a row (${(rounds * CREDENTIALS_RECHECK_MS) / 1000} s) ` +
        'cut the export',
    ];
    expect(phrases.filter((phrase) => !text.includes(phrase))).toEqual([]);
    expect(q.stepPropertyValueCharsMax).toBe(e.propertiesBytesMax); // "a longer one could never"
  });
});
