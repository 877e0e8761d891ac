// Renames the positional parameters of a user's statement (`?` and `$1`) to named ones
// (`$sql_param_1`), so they can be bound next to the snapshot's named `$tenant` (DuckDB does
// not mix the two kinds), and drops the semicolons before and after the statement (empty
// statements, which DuckDB's parser skips: left in, the wrapped statement was a syntax error
// at a `;` the user's statement parsed without). A small lexer skips strings, quoted
// identifiers, dollar-quoted strings and comments. The guard re-parses the result and
// compares it with the original, so a construct this lexer misreads is refused, not run.

export const SQL_PARAM_PREFIX = 'sql_param_';

const IDENT_START = /[A-Za-z_\u0080-\uffff]/;
const IDENT_PART = /[A-Za-z0-9_$\u0080-\uffff]/;
const DIGIT = /[0-9]/;

/**
 * The statement with its positional parameters renamed; `spelled`, when given, is told of each
 * as written (`?`, `?1`, `$1`, `$01`) for parameterSpellingProblem.
 */
export function nameParameters(sql: string, spelled?: string[]): string {
  const out: string[] = [];
  let i = 0;
  let positional = 0;
  let lastSignificant = -1; // index in `out` of the last token that is not a comment or space
  const emit = (text: string, significant: boolean) => {
    out.push(text);
    if (significant) lastSignificant = out.length - 1;
  };
  while (i < sql.length) {
    const c = sql[i] as string;
    const next = sql[i + 1] ?? '';
    let end: number;
    if (c === "'") end = quotedEnd(sql, i, "'", false);
    else if (c === '"') end = quotedEnd(sql, i, '"', false);
    else if ((c === 'e' || c === 'E') && next === "'") end = quotedEnd(sql, i + 1, "'", true);
    else if (c === '-' && next === '-') {
      // DuckDB's lexer ends a line comment at a line feed or a carriage return (a statement
      // written with CR line endings): ended at \n alone, the parameters after it were read
      // as inside the comment, left unnamed, and the statement refused as "could not be bound".
      end = runEnd(sql, i, /[^\n\r]/);
      emit(sql.slice(i, end), false);
      i = end;
      continue;
    } else if (c === '/' && next === '*') {
      end = blockCommentEnd(sql, i);
      emit(sql.slice(i, end), false);
      i = end;
      continue;
    } else if (c === '?') {
      spelled?.push(DIGIT.test(next) ? sql.slice(i, runEnd(sql, i + 1, DIGIT)) : c);
      positional += 1;
      emit(`$${SQL_PARAM_PREFIX}${positional}`, true);
      i += 1;
      continue;
    } else if (c === '$') {
      const dollar = dollarToken(sql, i);
      if (dollar.kind === 'positional') {
        spelled?.push(dollar.text);
        emit(`$${SQL_PARAM_PREFIX}${dollar.text.slice(1)}`, true);
        i = dollar.end;
        continue;
      }
      end = dollar.end;
    } else if (IDENT_START.test(c)) end = runEnd(sql, i + 1, IDENT_PART);
    else if (DIGIT.test(c)) end = runEnd(sql, i + 1, /[0-9A-Za-z_.]/);
    else if (/\s/.test(c) || (c === ';' && lastSignificant === -1)) {
      // Whitespace, or a semicolon before the statement (an empty statement): dropped.
      emit(c === ';' ? ' ' : c, false);
      i += 1;
      continue;
    } else end = i + 1;
    emit(sql.slice(i, end), true);
    i = end;
  }
  while (lastSignificant >= 0 && out[lastSignificant] === ';') {
    out[lastSignificant] = ' ';
    lastSignificant = out.findLastIndex((t, k) => k < lastSignificant && !isSpace(t));
  }
  return out.join('');
}

function isSpace(token: string): boolean {
  return /^\s*$/.test(token) || token.startsWith('--') || token.startsWith('/*');
}

/** End (exclusive) of a quoted run starting at `start` (`''`/`""` escape; `\` in E-strings). */
function quotedEnd(sql: string, start: number, quote: string, backslash: boolean): number {
  let i = start + 1;
  while (i < sql.length) {
    const c = sql[i];
    if (backslash && c === '\\') i += 2;
    else if (c === quote && sql[i + 1] === quote) i += 2;
    else if (c === quote) return i + 1;
    else i += 1;
  }
  return sql.length;
}

/** End of a (nested) block comment. */
function blockCommentEnd(sql: string, start: number): number {
  let depth = 0;
  let i = start;
  while (i < sql.length) {
    if (sql.startsWith('/*', i)) {
      depth += 1;
      i += 2;
    } else if (sql.startsWith('*/', i)) {
      depth -= 1;
      i += 2;
      if (depth === 0) return i;
    } else i += 1;
  }
  return sql.length;
}

function runEnd(sql: string, start: number, part: RegExp): number {
  let i = start;
  while (i < sql.length && part.test(sql[i] as string)) i += 1;
  return i;
}

/** `$1` (positional), `$name` (named, left as is), or a dollar-quoted string `$tag$…$tag$`. */
function dollarToken(
  sql: string,
  start: number,
): { kind: 'positional' | 'other'; text: string; end: number } {
  const digitsEnd = runEnd(sql, start + 1, DIGIT);
  if (digitsEnd > start + 1) {
    return { kind: 'positional', text: sql.slice(start, digitsEnd), end: digitsEnd };
  }
  const tagEnd = runEnd(sql, start + 1, /[A-Za-z0-9_\u0080-\uffff]/);
  if (sql[tagEnd] !== '$') return { kind: 'other', text: sql.slice(start, tagEnd), end: tagEnd };
  const tag = sql.slice(start, tagEnd + 1);
  const close = sql.indexOf(tag, tagEnd + 1);
  const end = close === -1 ? sql.length : close + tag.length;
  return { kind: 'other', text: sql.slice(start, end), end };
}

/**
 * What is wrong with how `sql` writes a positional parameter, or null: `$0` (they start at
 * `$1`), a leading zero (`$01`), a number past `paramsMax` (no body binds it; DuckDB read one
 * past 2^63 as "Parameter numbers cannot be negative"), or `?1` (DuckDB's numbered `?`, which
 * nameParameters reads as `?` then `1`). Else such a statement was refused as "could not be
 * bound", naming none of it.
 */
export function parameterSpellingProblem(sql: string, paramsMax: number): string | null {
  const spelled: string[] = [];
  nameParameters(sql, spelled);
  for (const text of spelled) {
    if (text === '?') continue;
    const digits = text.slice(1);
    const number = digits.replace(/^0+/, '');
    if (number === '') return `parameters start at $1 (${text} names none)`;
    if (number.length > String(paramsMax).length || Number(number) > paramsMax) {
      return `parameter ${text} is past $${paramsMax}: a statement takes ${paramsMax} at most`;
    }
    if (number !== digits || text.startsWith('?')) return `write parameter ${text} as $${number}`;
  }
  return null;
}

const RENAMED_PARAMETER = new RegExp(`\\$${SQL_PARAM_PREFIX}(\\d+)`, 'g');

/**
 * A result column's name as DuckDB names it for the statement as sent: a column named after
 * an expression holding a parameter says `$1` (`CAST($1 AS VARCHAR)`), not the renamed
 * `$sql_param_1`. Kept as it is when the statement itself spells the prefix (it may have
 * named a column so).
 */
export function columnNameAsSent(name: string, statement: string): string {
  if (!name.includes(SQL_PARAM_PREFIX) || statement.includes(SQL_PARAM_PREFIX)) return name;
  return name.replace(RENAMED_PARAMETER, (_, n: string) => `$${n}`);
}
