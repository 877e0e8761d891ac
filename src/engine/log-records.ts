// A tick's fresh events as the log records that carry them, encoded straight from their JSON
// lines, and the UTC days they span (HotGroup.days).

import { assert, type StoredEvent, utcDayIndex } from '../core/index.ts';
import { logPayloadBuffer, RECORD_BYTES_MAX } from '../storage/index.ts';

export interface LogRecord {
  events: readonly StoredEvent[];
  /** The events' JSON lines, newline-separated. */
  payload: Buffer;
}

/**
 * The log records of a tick: one, unless its lines are over RECORD_BYTES_MAX (a tick holds
 * every request a tenant sent in one turn, up to its mailbox's bytes: half the commit queue,
 * 64 MiB by default, and past the 256 MiB frame limit with a COMMIT_QUEUE_BYTES_MAX over 512 MiB).
 * `lineBytes` are each line's UTF-8 bytes and its newline.
 */
export function recordsOf(
  events: readonly StoredEvent[],
  lines: readonly string[],
  lineBytes: readonly number[],
): LogRecord[] {
  const records: LogRecord[] = [];
  let start = 0;
  let bytes = 0;
  for (let i = 0; i < lines.length; i++) {
    const size = lineBytes[i] as number;
    if (i > start && bytes + size > RECORD_BYTES_MAX) {
      records.push(recordOf(events, lines, lineBytes, start, i, bytes));
      start = i;
      bytes = 0;
    }
    bytes += size;
  }
  records.push(recordOf(events, lines, lineBytes, start, lines.length, bytes));
  return records;
}

const NEWLINE = 0x0a;

/**
 * Bun's (and Node's) Buffer#latin1Write, which @types/node leaves out: a string's UTF-16 units
 * as bytes, for ASCII the same as UTF-8 and ~2× faster than `write(s, at, 'latin1')`.
 */
type Latin1Buffer = Buffer & { latin1Write(text: string, offset: number): number };

/**
 * The record of lines `start`–`end` (`bytes` with their newlines), encoded straight into the
 * payload: joining them into one string first and encoding that copied every tick's events
 * twice (12 % of the JavaScript thread's time in a 1,000-event batch's profile), in memory the
 * log's I/O threads write from without a copy. A line whose UTF-8 bytes are as many as its
 * UTF-16 units is ASCII, written byte for byte.
 */
function recordOf(
  events: readonly StoredEvent[],
  lines: readonly string[],
  lineBytes: readonly number[],
  start: number,
  end: number,
  bytes: number,
): LogRecord {
  // No newline after the last line.
  const payload = logPayloadBuffer(bytes - 1) as Latin1Buffer;
  let at = 0;
  for (let i = start; i < end; i++) {
    if (i > start) payload[at++] = NEWLINE;
    const line = lines[i] as string;
    const size = (lineBytes[i] as number) - 1;
    at += size === line.length ? payload.latin1Write(line, at) : payload.write(line, at);
  }
  assert(at === payload.length, `a log record's lines took ${at} of ${payload.length} bytes`);
  const slice = start === 0 && end === events.length ? events : events.slice(start, end);
  return { events: slice, payload };
}

/** The UTC days (days since 1970-01-01) of events' timestamps, each once. */
export function utcDaysOf(events: readonly StoredEvent[]): number[] {
  const days: number[] = [];
  for (const e of events) {
    const day = utcDayIndex(e.timestamp);
    if (!days.includes(day)) days.push(day);
  }
  return days;
}
