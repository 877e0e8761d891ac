// The fields of an application/x-www-form-urlencoded body as bytes. URLSearchParams turns an
// escape that is not UTF-8 (`%FF`) into U+FFFD: text changed without a word. Read as bytes, a
// reader can refuse such text (account forms) or hand the bytes on (PostHog's `data`, whose
// JSON parseJson checks).

/** The name and value of each field of a form body, in order, escapes and `+` decoded. */
export function formFieldBytes(bytes: Buffer): [Buffer, Buffer][] {
  const fields: [Buffer, Buffer][] = [];
  // latin1 keeps one character per byte, both ways: the bytes come back as sent.
  for (const pair of bytes.toString('latin1').split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    fields.push([
      decoded(eq === -1 ? pair : pair.slice(0, eq)),
      decoded(eq === -1 ? '' : pair.slice(eq + 1)),
    ]);
  }
  return fields;
}

/**
 * A part's bytes: `+` a space, each `%` and two hex digits their byte; any other `%` kept as
 * itself, as URLSearchParams keeps it.
 */
function decoded(text: string): Buffer {
  const bytes = text
    .replaceAll('+', ' ')
    .replace(/%([0-9a-f]{2})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  return Buffer.from(bytes, 'latin1');
}
