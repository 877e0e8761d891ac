// Why the event log is a file and not SQLite rows (`bun bench/sqlite-vs-log.bench.ts
// --rows=N --group=G`): N event-sized rows (a random UUID id and ~300 bytes of JSON) written
// in groups of G, each group made durable before the next, two ways: bun:sqlite inserts into a
// table keyed by the id (WAL, synchronous=FULL, one transaction a group), and appends of the
// rows as lines to one file with an fdatasync a group, as the log does. Prints rows/s each.

import { Database } from 'bun:sqlite';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    group: { type: 'string', default: '1000' },
  },
});
const rows = Number(values.rows);
const group = Number(values.group);
if (!Number.isInteger(rows) || rows < 1) throw new Error(`--rows=${values.rows}: at least 1`);
if (!Number.isInteger(group) || group < 1) throw new Error(`--group=${values.group}: >= 1`);

const ids = Array.from({ length: rows }, () => crypto.randomUUID());
const bodyOf = (id: string) =>
  JSON.stringify({
    tenant: 'tenant_1',
    event_id: id,
    name: 'page_view',
    received_at: Date.now(),
    props: { path: '/pricing', referrer: 'https://example.com/', plan: 'pro', n: 42 },
    user_agent: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/130.0 Safari/537.36',
  });
const bodies = ids.map(bodyOf);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-sqlite-vs-log-'));

function sqliteRate(): number {
  const db = new Database(path.join(dir, 'events.sqlite'));
  db.exec('PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;');
  db.exec('CREATE TABLE events (id TEXT PRIMARY KEY, body TEXT NOT NULL)');
  const insert = db.prepare('INSERT INTO events (id, body) VALUES (?, ?)');
  const insertGroup = db.transaction((from: number, to: number) => {
    for (let i = from; i < to; i++) insert.run(ids[i] as string, bodies[i] as string);
  });
  const started = performance.now();
  for (let at = 0; at < rows; at += group) insertGroup(at, Math.min(rows, at + group));
  const ms = performance.now() - started;
  db.close();
  return rows / (ms / 1000);
}

function fileRate(): number {
  const fd = fs.openSync(path.join(dir, 'events.log'), 'a');
  const started = performance.now();
  for (let at = 0; at < rows; at += group) {
    fs.writeSync(fd, `${bodies.slice(at, Math.min(rows, at + group)).join('\n')}\n`);
    fs.fdatasyncSync(fd);
  }
  const ms = performance.now() - started;
  fs.closeSync(fd);
  return rows / (ms / 1000);
}

try {
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  console.log(`${rows.toLocaleString('en-US')} rows in groups of ${group}, bun ${Bun.version}`);
  console.log(`bun:sqlite inserts        ${fmt(sqliteRate())} rows/s`);
  console.log(`file appends + fdatasync  ${fmt(fileRate())} rows/s`);
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
