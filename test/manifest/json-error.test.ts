import { findJsonSyntaxError, formatJsonSyntaxError } from '../../lib/manifest/json-error';

describe('findJsonSyntaxError', () => {
  test('valid JSON has none, whatever JSON.parse accepts', () => {
    for (const text of ['{}', '[]', ' {"a": [1, -2.5e3, true, false, null, "x\\u00e9\\n"]} ', '\ufeff{"b":{}}', '0', '"s"']) {
      expect(() => JSON.parse(text.replace(/^\ufeff/, ''))).not.toThrow();
      expect(findJsonSyntaxError(text)).toBeUndefined();
    }
  });

  test.each([
    ['{"a":1 "b":2}', 1, 8, "expected ',' or '}' after a property value, got '\"'"],
    ['{"a":1,}', 1, 8, "expected a double-quoted property name, got '}'"],
    ['{"a" 1}', 1, 6, "expected ':' after a property name, got '1'"],
    ['[1, 2', 1, 6, "expected ',' or ']' after an array element, got the end of the input"],
    ['{"a": tru}', 1, 7, "unexpected 't', a value was expected"],
    ['{"a": 01}', 1, 8, "invalid number: unexpected '1'"],
    ['{"a": "x\ty"}', 1, 9, 'a control character (\\u0009) inside a string must be escaped'],
    ['{"a": "x\\qy"}', 1, 9, 'invalid escape \\q in a string'],
    ['{"a": "open', 1, 7, 'a string is not closed (no ending double quote)'],
    ['{}x', 1, 3, "unexpected 'x' after the JSON value"],
    ['', 1, 1, 'unexpected end of the input, a value was expected'],
    ['{\n  "images": [],\r\n  "annotations": [}\n', 3, 19, "unexpected '}', a value was expected"],
  ])('%j: line %d, column %d: %s', (text, line, column, reason) => {
    expect(() => JSON.parse(text)).toThrow();
    expect(findJsonSyntaxError(text)).toEqual({ line, column, reason });
  });

  test('binary bytes are shown escaped, never raw', () => {
    const e = findJsonSyntaxError('\u0089PNG\r\n\u001a\n');
    expect(e).toEqual({ line: 1, column: 1, reason: "unexpected '\u0089', a value was expected" });
    expect(findJsonSyntaxError('\u0000')?.reason).toBe('unexpected \\u0000, a value was expected');
  });

  test('formats as "line L, column C: reason", or "column C: reason" for one line', () => {
    const e = { line: 3, column: 19, reason: 'r' };
    expect(formatJsonSyntaxError(e)).toBe('line 3, column 19: r');
    expect(formatJsonSyntaxError(e, true)).toBe('column 19: r');
  });
});
