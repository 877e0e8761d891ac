// The one reading of a native read's query string. Elysia's parser (the `query` a route gets)
// keeps an escape that is not UTF-8 (`%FF`) as its raw text, URLSearchParams (the repeated-
// parameter check, property filters, funnel steps, a tenant_id fallback) makes it U+FFFD, and
// a `#` (no fragment reaches a server, but a raw request may carry one) ends the query for
// URLSearchParams only: one request was checked on one reading and answered on another. A
// query string whose every part decodes as UTF-8 and holds no `#` reads the same in both (both
// split at `&` and the first `=` and read `+` as a space), so anything else is refused here, a
// 400 as for a path that is not valid percent-encoding (app.ts).

import { AppError } from '../core/index.ts';

/** Characters of a parameter's name a refusal quotes at most. */
const QUOTED_NAME_CHARS_MAX = 64;

/**
 * The parameters of `request`'s query string in order, names and values decoded; a 400 naming
 * the parameter when a part is not valid percent-encoding of UTF-8 (`%FF`, `100%`, `%zz`), or
 * when the query holds a `#`.
 */
export function queryParametersOf(request: Request): [string, string][] {
  const url = request.url;
  const start = url.indexOf('?');
  if (start === -1) return [];
  const query = url.slice(start + 1);
  if (query.includes('#')) {
    throw new AppError(
      'bad_request',
      'the query string holds a #, which no parameter may hold unescaped: send it as %23',
    );
  }
  const parameters: [string, string][] = [];
  for (const part of query.split('&')) {
    if (part === '') continue;
    const equals = part.indexOf('=');
    const rawName = equals === -1 ? part : part.slice(0, equals);
    const name = decoded(rawName, rawName);
    parameters.push([name, equals === -1 ? '' : decoded(part.slice(equals + 1), name)]);
  }
  return parameters;
}

/** `text` of a query string decoded (`+` a space); a 400 naming `parameter` when it is broken. */
function decoded(text: string, parameter: string): string {
  const spaced = text.replaceAll('+', ' ');
  if (!spaced.includes('%')) return spaced;
  try {
    return decodeURIComponent(spaced);
  } catch {
    const quoted =
      parameter.length > QUOTED_NAME_CHARS_MAX
        ? `${parameter.slice(0, QUOTED_NAME_CHARS_MAX)}…`
        : parameter;
    throw new AppError(
      'bad_request',
      `the query parameter ${quoted} is not valid percent-encoding: each % starts an escape ` +
        'of two hex digits, and the escapes spell UTF-8 (send % itself as %25)',
    );
  }
}
