// pythonJsonError: where Python's json.loads (up to 3.12) stops on malformed JSON and what it says, as
// FastAPI reports it. The expected values are CPython's own (json.JSONDecodeError msg and pos).

import { describe, expect, test } from 'bun:test';
import { pythonJsonError } from '../../src/http/compat/python-json.ts';

describe('pythonJsonError', () => {
  test("each of Python's messages, at Python's position", () => {
    const cases: [string, string, number][] = [
      ['', 'Expecting value', 0],
      ['"abc', 'Unterminated string starting at', 0],
      ['"a\\x"', 'Invalid \\escape', 2],
      ['"\\u12"', 'Invalid \\uXXXX escape', 2],
      ['"\\u12G4"', 'Invalid \\uXXXX escape', 2],
      ['"\\u1234', 'Invalid \\uXXXX escape', 2],
      ['{"a" 1}', "Expecting ':' delimiter", 5],
      ['{a:1}', 'Expecting property name enclosed in double quotes', 1],
      ['{"a":1,}', 'Expecting property name enclosed in double quotes', 7],
      ['[1,]', 'Expecting value', 3],
      ['[1 2]', "Expecting ',' delimiter", 3],
      ['"a\nb"', 'Invalid control character at', 2],
      ['01', 'Extra data', 1],
      ['1.', 'Extra data', 1],
      ['tru', 'Expecting value', 0],
      ['{"a":}', 'Expecting value', 5],
    ];
    for (const [text, msg, pos] of cases) {
      expect([text, pythonJsonError(text)?.msg, pythonJsonError(text)?.pos]).toEqual([
        text,
        msg,
        pos,
      ]);
    }
  });

  test('positions and columns count code points; lines count newlines', () => {
    // An emoji is one character to Python, two UTF-16 units to JavaScript.
    expect(pythonJsonError('{"é😀":"x\n"}')).toEqual({
      msg: 'Invalid control character at',
      pos: 8,
      lineno: 1,
      colno: 9,
      text: 'Invalid control character at: line 1 column 9 (char 8)',
    });
    expect(pythonJsonError('{"a":1}\n😀 x')?.text).toBe('Extra data: line 2 column 1 (char 8)');
    expect(pythonJsonError('[\n1,\n😀]')?.text).toBe('Expecting value: line 3 column 1 (char 5)');
  });

  test('what Python reads is no error: NaN, the infinities, any valid JSON', () => {
    for (const text of ['NaN', '[-Infinity, Infinity]', '{"a":[1,2.5e-3,{"b":null}]}', ' 1 ']) {
      expect(pythonJsonError(text)).toBeNull();
    }
  });

  test('past Python’s nesting (a RecursionError there) it names no position', () => {
    expect(pythonJsonError(`${'['.repeat(5000)}x`)).toBeNull();
    expect(pythonJsonError(`${'['.repeat(900)}x`)?.pos).toBe(900);
  });
});
