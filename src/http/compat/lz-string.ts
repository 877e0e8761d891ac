// The decoder of lz-string's base64 form (`compressToBase64`), which older posthog-js sent
// as `compression=lz64` and PostHog's capture still reads (rust/capture decompress_lz64). Written
// for Tally from the format (an LZW variant over UTF-16 code units, its codes packed in
// bits of growing width, six bits a base64 character), not taken from lz-string's code; bounded
// as gzip is: decoding stops once the text passes the limit, so a small body that would
// decode to gigabytes (a long run of one character packs into a few KB) costs at most the limit.

import { AppError } from '../../core/index.ts';
import { tooLarge } from '../body-bytes.ts';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=';

/** Each base64 character's 6-bit value ('=' pads: 0); -1 for a byte outside the alphabet. */
const VALUES = (() => {
  const values = new Int8Array(256).fill(-1);
  for (let i = 0; i < ALPHABET.length; i++) values[ALPHABET.charCodeAt(i)] = i === 64 ? 0 : i;
  return values;
})();

/** The codes of the stream: 0 a new 8-bit character, 1 a 16-bit one, 2 the end. */
const CHAR8 = 0;
const CHAR16 = 1;
const END = 2;

/**
 * The text lz-string's `compressToBase64` made of it, decoded from `base64` (its ASCII bytes);
 * 413 once it passes `unitsMax` UTF-16 code units (a text's UTF-8 is never shorter than its
 * UTF-16 code unit count, so the byte limit as a unit count refuses nothing that fits), 400 for
 * a stream that is not lz-string's.
 */
export function lz64Decode(base64: Buffer, unitsMax: number, bytesMax = unitsMax): string {
  const bits = new BitReader(base64);
  const broken = () => new AppError('bad_request', 'the body is not valid lz64 (lz-string)');
  const dictionary: string[] = ['', '', ''];
  const first = bits.read(2);
  if (first === END) return '';
  if (first !== CHAR8 && first !== CHAR16) throw broken();
  let w = String.fromCharCode(bits.read(first === CHAR8 ? 8 : 16));
  dictionary.push(w);
  const parts = [w];
  let units = w.length;
  let width = 3;
  let enlargeIn = 4;
  for (;;) {
    if (bits.exhausted()) throw broken();
    let code = bits.read(width);
    if (code === END) return parts.join('');
    if (code === CHAR8 || code === CHAR16) {
      dictionary.push(String.fromCharCode(bits.read(code === CHAR8 ? 8 : 16)));
      code = dictionary.length - 1;
      if (--enlargeIn === 0) enlargeIn = 2 ** width++;
    }
    const entry =
      code < dictionary.length
        ? (dictionary[code] as string)
        : code === dictionary.length
          ? w + w.charAt(0)
          : undefined;
    if (entry === undefined) throw broken();
    units += entry.length;
    if (units > unitsMax) throw tooLarge(bytesMax, 'decompressed ');
    parts.push(entry);
    dictionary.push(w + entry.charAt(0));
    if (--enlargeIn === 0) enlargeIn = 2 ** width++;
    w = entry;
  }
}

/**
 * The bits of base64 text as lz-string packs them: each character's six from its highest, and
 * each number from its lowest bit.
 */
class BitReader {
  private index = 0;
  private value = 0;
  private mask = 0;

  constructor(private readonly text: Buffer) {}

  /** Past the text's last character (lz-string then reads zeros; a complete stream has ended). */
  exhausted(): boolean {
    return this.index > this.text.length;
  }

  /** The next `width` bits (at most 16) as a number. */
  read(width: number): number {
    let result = 0;
    for (let bit = 0; bit < width; bit++) {
      if (this.mask === 0) this.next();
      if ((this.value & this.mask) !== 0) result |= 1 << bit;
      this.mask >>= 1;
    }
    return result;
  }

  private next(): void {
    const byte = this.text[this.index++];
    const value = byte === undefined ? 0 : (VALUES[byte] as number);
    if (value < 0) {
      throw new AppError('bad_request', 'the body is not valid lz64: a byte outside base64');
    }
    this.value = value;
    this.mask = 32;
  }
}
