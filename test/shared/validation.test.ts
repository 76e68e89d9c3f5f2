import { Lazy, Stack, Token } from 'aws-cdk-lib';

import { describeValue, PropValidationError, PropValidator } from '../../lib/shared/validation';

function problems(build: (v: PropValidator) => void): readonly string[] {
  const validator = new PropValidator();
  build(validator);
  return validator.problems;
}

describe('PropValidator', () => {
  test('check records the message only when the condition fails', () => {
    expect(problems((v) => v.check(true, 'never').check(false, 'always'))).toEqual(['always']);
  });

  test('matches names the prop, the pattern and the value', () => {
    expect(problems((v) => v.matches('projectName', 'my project', /^[a-z]+$/)))
      .toEqual(['projectName must match /^[a-z]+$/, got: "my project"']);
    expect(problems((v) => v.matches('projectName', 'ok', /^[a-z]+$/))).toEqual([]);
  });

  test('length, range, integer and oneOf describe what is accepted', () => {
    expect(problems((v) => v
      .length('versionPrefix', 'abcdef', 1, 5)
      .range('minF1', 1.5, 0, 1)
      .integer('minInferenceUnits', 0.5, 1)
      .integer('maxInferenceUnits', 0, 1)
      .range('threshold', Number.NaN)
      .oneOf('mode', 'SOMETIMES', ['RETAIN', 'DESTROY']))).toEqual([
      'versionPrefix must be 1..5 characters long, got 6: "abcdef"',
      'minF1 must be between 0 and 1, got: 1.5',
      'minInferenceUnits must be an integer >= 1, got: 0.5',
      'maxInferenceUnits must be an integer >= 1, got: 0',
      'threshold must be a finite number, got: NaN',
      'mode must be one of RETAIN, DESTROY, got: "SOMETIMES"',
    ]);
  });

  test('range with only an upper bound', () => {
    expect(problems((v) => v.range('ratio', 0.9, undefined, 0.5))).toEqual(['ratio must be <= 0.5, got: 0.9']);
  });

  test('skips undefined values and unresolved tokens', () => {
    const name = Lazy.string({ produce: () => 'not checked' });
    const units = Token.asNumber(Lazy.number({ produce: () => -1 }));
    expect(problems((v) => v
      .matches('projectName', undefined, /^x$/)
      .matches('projectName', name, /^x$/)
      .integer('minInferenceUnits', units, 1)
      .length('versionPrefix', name, 1, 2)
      .tags('tags', undefined))).toEqual([]);
  });

  test('tags checks count, keys and values the way the service does', () => {
    const many = Object.fromEntries(Array.from({ length: 201 }, (_, i) => [`k${i}`, 'v']));
    expect(problems((v) => v.tags('tags', many))).toEqual(['tags must have at most 200 entries, got 201']);
    const found = problems((v) => v.tags('tags', { 'aws:x': 'v', ok: 'a;b', ['k'.repeat(129)]: 'v', 'Zoë é': 'ça va' }));
    expect(found).toHaveLength(3);
    expect(found[0]).toContain('got: "aws:x"');
    expect(found[1]).toContain('tags["ok"] must be 0..256 characters');
    expect(found[2]).toContain(`got: "${'k'.repeat(129)}"`);
  });

  test('throwIfAny throws once with every problem and the construct path', () => {
    const stack = new Stack(undefined, 'MyStack');
    const validator = new PropValidator().check(false, 'first problem').check(false, 'second problem');
    let thrown: unknown;
    try {
      validator.throwIfAny(stack);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(PropValidationError);
    const error = thrown as PropValidationError;
    expect(error.message).toBe('Invalid props for MyStack:\n  - first problem\n  - second problem');
    expect(error.problems).toEqual(['first problem', 'second problem']);
    expect(error.constructPath).toBe('MyStack');
  });

  test('throwIfAny accepts a path string and does nothing when all is well', () => {
    expect(() => new PropValidator().throwIfAny('Stack/Thing')).not.toThrow();
    expect(() => new PropValidator().check(false, 'bad').throwIfAny('Stack/Thing')).toThrow('Invalid props for Stack/Thing:\n  - bad');
  });
});

describe('describeValue', () => {
  test('quotes strings and prints the rest as JSON', () => {
    expect(describeValue('a "b"')).toBe('"a \\"b\\""');
    expect(describeValue(3)).toBe('3');
    expect(describeValue(undefined)).toBe('undefined');
    expect(describeValue({ a: [1] })).toBe('{"a":[1]}');
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(describeValue(cyclic)).toBe('[object Object]');
  });
});
