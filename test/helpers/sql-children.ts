// The SQL statement processes (src/query/sql-child.ts) this test process has started and that
// are still alive, read from /proc: tests check that stopped statements leave none behind.

import * as fs from 'node:fs';

export /**
 * This process's SQL children (sql-child.ts) that are alive, from /proc; with `marker`, only
 * those whose command line holds it (a pool started with it as an argument): `bun test
 * --parallel` runs other files in this process, whose statements are its children too.
 */
function sqlChildren(marker = 'sql-child.ts'): number[] {
  return fs.readdirSync('/proc').flatMap((entry) => {
    if (!/^\d+$/.test(entry)) return [];
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] === 'Z' || Number(fields[1]) !== process.pid) return [];
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      const isSql = cmdline.includes('sql-child.ts') && cmdline.includes(marker);
      return isSql ? [Number(entry)] : [];
    } catch {
      return []; // gone meanwhile
    }
  });
}
