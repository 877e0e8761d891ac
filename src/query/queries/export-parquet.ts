// GET /api/v1/export as Parquet: DuckDB copies the tenant's matching events, in export order,
// from one snapshot (segments ∪ unflushed events, each once) to a file of the staging
// directory, within one place of the tenant's reads; the caller streams the file, then removes
// it. DuckDB sorts within its memory limit and spills past it, so no export is held whole in
// memory. Times stay TIMESTAMPTZ (UTC, microseconds), properties JSON.

import * as fs from 'node:fs';
import { readRoomError } from '../../core/index.ts';
import { type EventSource, sqlStringBody } from '../../storage/index.ts';
import { EXPORT_COLUMNS, EXPORT_ORDER, type ExportOptions } from '../export-scope.ts';
import { filterConditions, whereOf } from '../filters.ts';
import { rangeOf, stopIfClientGone, withSnapshot } from '../read.ts';
import { SqlParams } from '../sql-params.ts';
import { eventListFilters } from './list-events.ts';

export interface ExportFile {
  /** Absolute path of the written file. */
  path: string;
  /** Removes the file (again: nothing happens). */
  remove(): void;
}

const SELECT = EXPORT_COLUMNS.map((name) => `e."${name}"`).join(', ');

/** Writes the export to a new Parquet file and returns it; nothing is left behind on failure. */
export async function exportParquet(
  source: EventSource,
  tenant: string,
  options: ExportOptions,
  signal?: AbortSignal,
): Promise<ExportFile> {
  const range = rangeOf(options.fromMs, options.toMs);
  return withSnapshot(source, tenant, range, signal, async (snapshot) => {
    const file = snapshot.tempFile('parquet');
    const remove = () => fs.rmSync(file, { force: true });
    const params = new SqlParams();
    const where = whereOf(filterConditions(eventListFilters(options), params));
    try {
      stopIfClientGone(snapshot);
      await snapshot.connection.run(
        `COPY (SELECT ${SELECT} FROM ${snapshot.allFrom} AS e ${where} ORDER BY ${EXPORT_ORDER})
           TO '${sqlStringBody(file)}' (FORMAT parquet, COMPRESSION zstd)`,
        params.with(snapshot.params),
        params.types,
      );
    } catch (error) {
      remove();
      throw readRoomError(
        error,
        'a Parquet export is written there before it is sent; retry later, or export as ' +
          'ndjson or csv',
      );
    }
    return { path: file, remove };
  });
}
