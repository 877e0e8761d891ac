// Where Python's json module stops on malformed JSON, and what it says there: FastAPI puts that
// position in its 422 (`loc: ["body", pos]`) and, under Pydantic v1, the message in `msg`
// (`Expecting value: line 1 column 1 (char 0)`). This follows CPython's C scanner (_json.c, up
// to Python 3.12; 3.13 names a trailing comma): the same checks in the same order, positions
// counted in code points.

/** Python's report of the first error in a JSON text. */
export interface PythonJsonError {
  /** json.JSONDecodeError.msg, e.g. `Expecting ',' delimiter`. */
  msg: string;
  /** json.JSONDecodeError.pos: the code point the error is at. */
  pos: number;
  /** json.JSONDecodeError.lineno and colno: its line and column, from 1. */
  lineno: number;
  colno: number;
  /** str(error): the message with its line, column and character. */
  text: string;
}

/**
 * Nesting past which this stops looking (null: no position). Python's own reader gives up
 * near its recursion limit (1000 frames, a server's own included) with a RecursionError,
 * which FastAPI does not report as a JSON error either.
 */
const DEPTH_MAX = 900;

class Stop {
  constructor(
    readonly msg: string,
    readonly at: number,
  ) {}
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?/y;
/** The literals Python reads besides numbers and strings (NaN and the infinities included). */
const WORDS = ['null', 'true', 'false', 'NaN', 'Infinity', '-Infinity'];
const ESCAPES = '"\\/bfnrt';
/** A run of a string's characters that need no look: no quote, backslash or control. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: JSON text forbids them; this finds them.
const PLAIN = /[^"\\\u0000-\u001f]*/y;
const HEX = /^[0-9a-fA-F]{4}$/;

/** The error json.loads(text) raises, or null when Python reads the text. */
export function pythonJsonError(text: string): PythonJsonError | null {
  try {
    const end = skip(text, value(text, skip(text, 0), 0));
    if (end !== text.length) throw new Stop('Extra data', end);
    return null;
  } catch (error) {
    if (error === TOO_DEEP) return null;
    if (!(error instanceof Stop)) throw error;
    const pos = codePoints(text, 0, error.at);
    const lastLine = text.lastIndexOf('\n', error.at - 1);
    const line = lines(text, error.at);
    const column = lastLine < 0 ? pos + 1 : codePoints(text, lastLine, error.at);
    return {
      msg: error.msg,
      pos,
      lineno: line,
      colno: column,
      text: `${error.msg}: line ${line} column ${column} (char ${pos})`,
    };
  }
}

/** Code points in s[from, to) (a surrogate pair is one, as Python counts). No copies made. */
function codePoints(s: string, from: number, to: number): number {
  let n = to - from;
  for (let i = from + 1; i < to; i++) {
    const unit = s.charCodeAt(i);
    const prev = s.charCodeAt(i - 1);
    if (unit >= 0xdc00 && unit <= 0xdfff && prev >= 0xd800 && prev <= 0xdbff) n--;
  }
  return n;
}

/** The line `at` is on, from 1. */
function lines(s: string, at: number): number {
  let n = 1;
  for (let i = s.indexOf('\n'); i !== -1 && i < at; i = s.indexOf('\n', i + 1)) n++;
  return n;
}

function skip(s: string, at: number): number {
  let i = at;
  while (i < s.length && (s[i] === ' ' || s[i] === '\t' || s[i] === '\n' || s[i] === '\r')) i++;
  return i;
}

const TOO_DEEP = new Error('nested too deep');

/** The end of the value at `at`, `depth` containers down. */
function value(s: string, at: number, depth: number): number {
  const c = s[at];
  if (c === '"') return string(s, at + 1);
  if ((c === '{' || c === '[') && depth >= DEPTH_MAX) throw TOO_DEEP;
  if (c === '{') return object(s, at + 1, depth + 1);
  if (c === '[') return array(s, at + 1, depth + 1);
  for (const word of WORDS) if (s.startsWith(word, at)) return at + word.length;
  NUMBER.lastIndex = at;
  const number = NUMBER.exec(s);
  if (number !== null) return at + number[0].length;
  throw new Stop('Expecting value', at);
}

/** The end of a string whose opening quote is just before `from`. */
function string(s: string, from: number): number {
  const begin = from - 1;
  let i = from;
  for (;;) {
    PLAIN.lastIndex = i;
    i += (PLAIN.exec(s) as RegExpExecArray)[0].length;
    if (i < s.length && s.charCodeAt(i) <= 0x1f) throw new Stop('Invalid control character at', i);
    if (i >= s.length) throw new Stop('Unterminated string starting at', begin);
    if (s[i] === '"') return i + 1;
    i++; // past the backslash
    if (i >= s.length) throw new Stop('Unterminated string starting at', begin);
    if (s[i] !== 'u') {
      if (!ESCAPES.includes(s[i] as string)) throw new Stop('Invalid \\escape', i - 1);
      i++;
    } else {
      // Four hex digits, and a character after them (C's `end >= len` check).
      if (i + 5 >= s.length || !HEX.test(s.slice(i + 1, i + 5))) {
        throw new Stop('Invalid \\uXXXX escape', i);
      }
      i += 5;
    }
  }
}

function object(s: string, from: number, depth: number): number {
  let i = skip(s, from);
  if (s[i] === '}') return i + 1;
  for (;;) {
    if (s[i] !== '"') throw new Stop('Expecting property name enclosed in double quotes', i);
    i = skip(s, string(s, i + 1));
    if (s[i] !== ':') throw new Stop("Expecting ':' delimiter", i);
    i = skip(s, value(s, skip(s, i + 1), depth));
    if (s[i] === '}') return i + 1;
    if (s[i] !== ',') throw new Stop("Expecting ',' delimiter", i);
    i = skip(s, i + 1);
  }
}

function array(s: string, from: number, depth: number): number {
  let i = skip(s, from);
  if (s[i] === ']') return i + 1;
  for (;;) {
    i = skip(s, value(s, i, depth));
    if (s[i] === ']') return i + 1;
    if (s[i] !== ',') throw new Stop("Expecting ',' delimiter", i);
    i = skip(s, i + 1);
  }
}
