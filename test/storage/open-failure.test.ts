// A store that fails to open lets go of its data directory: the SQLite lock (one server per
// directory) and the DuckDB instance are closed, so a retry in the same process succeeds.

import { Database } from 'bun:sqlite';
import { afterEach, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ManualClock } from '../../src/core/index.ts';
import { openEngine } from '../../src/engine/index.ts';
import { SchemaTooNewError } from '../../src/storage/index.ts';
import { migrations } from '../../src/storage/migrations/index.ts';
import { engineOptions, T0 } from '../helpers/app.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';

let cleanup: (() => void) | undefined;
afterEach(() => cleanup?.());

test('a failed open releases the directory; the next open in the same process works', async () => {
  const temp = makeTempDir();
  cleanup = temp.remove;
  const walPath = path.join(temp.dir, 'wal');
  fs.writeFileSync(walPath, 'not a directory'); // the log cannot be opened
  const options = engineOptions(temp.dir, new ManualClock(T0));
  await expect(openEngine(options)).rejects.toThrow();
  fs.rmSync(walPath);
  // Without the release this open finds tally.sqlite locked (DataDirInUseError).
  const engine = await openEngine(options);
  expect(engine.store.lastSeq).toBe(0);
  await engine.close();
});

test('a schema too new for this build releases the directory as well', async () => {
  const temp = makeTempDir();
  cleanup = temp.remove;
  const options = engineOptions(temp.dir, new ManualClock(T0));
  await (await openEngine(options)).close();
  const file = path.join(temp.dir, 'tally.sqlite');
  const setVersion = (version: number) => {
    const db = new Database(file);
    db.run(`PRAGMA user_version = ${version}`);
    db.close();
  };
  setVersion(migrations.length + 1);
  await expect(openEngine(options)).rejects.toThrow(SchemaTooNewError);
  // Without the release this finds tally.sqlite locked by the failed open's connection.
  setVersion(migrations.length);
  await (await openEngine(options)).close();
});
