// The on-disk frame of one write-ahead log record:
//
//   u32 LE  payload length in bytes
//   u32 LE  CRC-32 of (sequence bytes ++ payload)
//   u64 LE  sequence number (strictly increasing across the whole log)
//   payload
//
// A frame whose header or payload is cut short, or whose CRC does not match, marks the end of
// the valid log: that is what a crash in the middle of a write leaves behind.

export const FRAME_HEADER_BYTES = 16;
/** A frame larger than this is not something Tally wrote: treat it as corruption. */
export const FRAME_PAYLOAD_BYTES_MAX = 256 * 1024 * 1024;
/**
 * The largest payload a writer puts in one record: work past it is split into several, far
 * below the frame limit above (which `append` enforces before anything is written).
 */
export const RECORD_BYTES_MAX = 16 * 1024 * 1024;

/** The header of the frame holding `payload`; the payload itself is written as it is. */
export function frameHeader(seq: number, payload: Uint8Array): Buffer {
  const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  header.writeUInt32LE(payload.length, 0);
  header.writeBigUInt64LE(BigInt(seq), 8);
  // CRC-32 continues across the two parts exactly as over their concatenation.
  const crc = Bun.hash.crc32(payload, Bun.hash.crc32(header.subarray(8, 16))) >>> 0;
  header.writeUInt32LE(crc, 4);
  return header;
}

export type FrameRead =
  | { kind: 'frame'; seq: number; payload: Uint8Array; next: number }
  | { kind: 'end' }
  | { kind: 'torn'; reason: string };

/** Reads the frame at `at`; 'end' exactly at the end of the data, 'torn' for anything invalid. */
export function decodeFrame(data: Buffer, at: number): FrameRead {
  if (at === data.length) return { kind: 'end' };
  if (at + FRAME_HEADER_BYTES > data.length) return { kind: 'torn', reason: 'short header' };
  const length = data.readUInt32LE(at);
  if (length > FRAME_PAYLOAD_BYTES_MAX) return { kind: 'torn', reason: 'impossible length' };
  const end = at + FRAME_HEADER_BYTES + length;
  if (end > data.length) return { kind: 'torn', reason: 'short payload' };
  const crc = data.readUInt32LE(at + 4);
  if (crcOf(data, at + 8, end) !== crc) return { kind: 'torn', reason: 'checksum mismatch' };
  const seq = Number(data.readBigUInt64LE(at + 8));
  return { kind: 'frame', seq, payload: data.subarray(at + FRAME_HEADER_BYTES, end), next: end };
}

function crcOf(buf: Buffer, start: number, end: number): number {
  return Bun.hash.crc32(buf.subarray(start, end)) >>> 0;
}

/**
 * How many valid frames numbered above `lastSeq` follow in `data` after damage at `from`:
 * a crash tears only the end of what was written, so any is a sign of damage in the middle
 * (or of unsynced pages written back out of order before a power loss).
 */
export function framesAfterDamage(data: Buffer, from: number, lastSeq: number): number {
  let found = 0;
  for (const _ of framesFrom(data, from + 1, lastSeq + 1)) found++;
  return found;
}

/** A frame found among damaged bytes, at offset `at` of them. */
export type FoundFrame = Extract<FrameRead, { kind: 'frame' }> & { at: number };

/**
 * The valid frames in `data` from `from` on, found at any offset, their seqs rising from
 * `seqMin` (a log file's records are numbered in order): the records among damaged bytes.
 * Scans every offset; the sequence number is checked before the CRC (no seq Tally writes
 * passes 2^53), so garbage costs little.
 */
export function* framesFrom(data: Buffer, from: number, seqMin: number): Generator<FoundFrame> {
  let at = from;
  let min = seqMin;
  while (at + FRAME_HEADER_BYTES <= data.length) {
    const seq = data.readUInt32LE(at + 12) * 2 ** 32 + data.readUInt32LE(at + 8);
    const read = seq >= min && seq <= Number.MAX_SAFE_INTEGER ? decodeFrame(data, at) : null;
    if (read?.kind === 'frame') {
      yield { ...read, at };
      min = read.seq + 1;
      at = read.next;
    } else {
      at++;
    }
  }
}
