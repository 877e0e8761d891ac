// Keeps the house rules of STYLE.md true as the code grows: the dependency direction between
// modules, imports only through a module's index.ts, and the size limits of files and lines.

import { describe, expect, test } from 'bun:test';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';

const SRC = path.resolve(import.meta.dir, '../src');
/** The dashboard page's modules: small modules too (STYLE.md), though not a module of src. */
const WEB = path.resolve(import.meta.dir, '../web');
const FILE_LINES_MAX = 400;
const LINE_COLUMNS_MAX = 100;

/** Which modules each module may import (STYLE.md, "Dependency direction"). */
const allowed: Record<string, string[]> = {
  core: [],
  storage: ['core'],
  engine: ['core', 'storage'],
  query: ['core', 'storage'],
  auth: ['core', 'storage'],
  live: ['core', 'engine'],
  http: ['core', 'auth', 'engine', 'query', 'live'],
  cluster: ['core', 'storage', 'engine'],
  'config.ts': ['core', 'storage', 'auth', 'live'],
  'start-errors.ts': ['storage'],
  'shutdown.ts': ['core', 'engine', 'http'],
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return sourceFiles(full);
    return full.endsWith('.ts') ? [full] : [];
  });
}

/** Files beside a root file that belong to it (config.ts's value parsers). */
const PARTS_OF: Record<string, string> = { 'config-values.ts': 'config.ts' };

function moduleOf(file: string): string {
  const rel = path.relative(SRC, file);
  if (rel.includes(path.sep)) return rel.split(path.sep)[0] as string;
  return PARTS_OF[rel] ?? rel;
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/^(?:import|export)[^'"]*from\s+'(\.[^']+)'/gm)].map(
    (m) => m[1] as string,
  );
}

const files = sourceFiles(SRC);

describe('tidy', () => {
  test('modules import only what the dependency table allows, through index.ts', () => {
    const problems: string[] = [];
    for (const file of files) {
      const from = moduleOf(file);
      for (const spec of importsOf(file)) {
        const target = path.resolve(path.dirname(file), spec);
        const to = moduleOf(target);
        if (to === from) continue;
        const rel = path.relative(SRC, file);
        if (to === 'config.ts' && from !== 'main.ts')
          problems.push(`${rel}: only main.ts reads config`);
        if (from === 'main.ts' || to === 'config.ts') continue;
        if (!(allowed[from] ?? []).includes(to))
          problems.push(`${rel}: ${from} must not import ${to}`);
        if (path.basename(target) !== 'index.ts')
          problems.push(`${rel}: import ${to} through its index.ts`);
      }
    }
    expect(problems).toEqual([]);
  });

  test('files stay under 400 lines and 100 columns', () => {
    const problems: string[] = [];
    for (const file of [...files, ...sourceFiles(WEB)]) {
      const lines = readFileSync(file, 'utf8').split('\n');
      const rel = path.relative(SRC, file);
      if (lines.length > FILE_LINES_MAX) problems.push(`${rel}: ${lines.length} lines`);
      lines.forEach((line, i) => {
        if (line.length > LINE_COLUMNS_MAX)
          problems.push(`${rel}:${i + 1}: ${line.length} columns`);
      });
    }
    expect(problems).toEqual([]);
  });

  test('only config.ts reads the environment', () => {
    const readers = files
      .filter((f) => /\b(Bun\.env|process\.env)\b/.test(readFileSync(f, 'utf8')))
      .map((f) => path.relative(SRC, f));
    expect(readers).toEqual(['config.ts']);
  });
});
