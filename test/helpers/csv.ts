// A strict RFC 4180 reader for the tests of CSV answers: records end with CRLF, a quoted field
// may hold commas, quotes (doubled) and line breaks, and anything else is an error, so a
// writer that quotes too little fails here rather than being read leniently.

export interface CsvField {
  text: string;
  /** Written in quotes: `""` is an empty string, an empty unquoted field an absent value. */
  quoted: boolean;
}

/** The records of `text`, each a list of fields; the text must end with CRLF. */
export function parseCsv(text: string): CsvField[][] {
  const records: CsvField[][] = [];
  let record: CsvField[] = [];
  let at = 0;
  while (at < text.length) {
    let field: CsvField;
    if (text[at] === '"') {
      let value = '';
      at++;
      while (true) {
        const quote = text.indexOf('"', at);
        if (quote === -1) throw new Error(`unterminated quoted field at ${at}`);
        value += text.slice(at, quote);
        if (text[quote + 1] === '"') {
          value += '"';
          at = quote + 2;
        } else {
          at = quote + 1;
          break;
        }
      }
      field = { text: value, quoted: true };
    } else {
      const end = text.slice(at).search(/[,\r\n"]/);
      const stop = end === -1 ? text.length : at + end;
      if (text[stop] === '"') throw new Error(`a quote inside an unquoted field at ${stop}`);
      field = { text: text.slice(at, stop), quoted: false };
      at = stop;
    }
    record.push(field);
    if (text[at] === ',') {
      at++;
    } else if (text.startsWith('\r\n', at)) {
      records.push(record);
      record = [];
      at += 2;
    } else {
      throw new Error(`expected a comma or CRLF at ${at}, found ${JSON.stringify(text[at])}`);
    }
  }
  if (record.length > 0) throw new Error('the last record does not end with CRLF');
  return records;
}

/** The records of `text` as objects by the header row's names; absent values are null. */
export function csvObjects(text: string): Record<string, string | null>[] {
  const [header = [], ...rows] = parseCsv(text);
  return rows.map((row) => {
    if (row.length !== header.length) throw new Error(`a record of ${row.length} fields`);
    return Object.fromEntries(
      header.map((h, i) => {
        const field = row[i] as CsvField;
        return [h.text, field.text === '' && !field.quoted ? null : field.text];
      }),
    );
  });
}
