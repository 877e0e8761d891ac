// An lz64 (lz-string `compressToBase64`) bomb for tests: the text lz-string makes of a run of
// one character, built from its codes without the run itself. Such a run is packed as tokens
// of 1, 2, 3, … characters, each naming the dictionary entry the decoder is about to add, so
// `tokens` tokens (about 2 bytes each) decode to tokens × (tokens + 1) / 2 characters: 50,000
// tokens, 100 KB of base64, are 1.25 billion characters. posthog-lz64.test.ts checks it against
// lz-string's own output for a short run.

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

export function lz64Run(char: string, tokens: number): string {
  const out: string[] = [];
  let value = 0;
  let filled = 0;
  const bits = (width: number, n: number) => {
    for (let i = 0; i < width; i++, n >>= 1) {
      value = (value << 1) | (n & 1);
      if (++filled === 6) {
        out.push(ALPHABET[value] as string);
        value = 0;
        filled = 0;
      }
    }
  };
  bits(2, 0); // an 8-bit character…
  bits(8, char.charCodeAt(0)); // …this one
  let size = 4;
  let width = 3;
  let enlargeIn = 4;
  for (let i = 1; i < tokens; i++) {
    bits(width, size++);
    if (--enlargeIn === 0) enlargeIn = 2 ** width++;
  }
  bits(width, 2); // the end
  do bits(1, 0);
  while (filled !== 0);
  const encoded = out.join('');
  return encoded + '='.repeat((4 - (encoded.length % 4)) % 4);
}
