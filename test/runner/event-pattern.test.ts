import { EventPatternError, matchesPattern, parseEventPattern } from '../../lib/runner/event-pattern';

const event = {
  'source': 'aws.s3',
  'detail-type': 'Object Created',
  'resources': ['arn:aws:s3:::b'],
  'detail': { bucket: { name: 'b' }, object: { key: 'incoming/A.JPG', size: 42 }, tags: ['x', 'y'], ip: '10.0.1.7', empty: null },
};
const matches = (pattern: unknown): boolean => matchesPattern(parseEventPattern(pattern), event);

describe('event patterns', () => {
  test.each([
    [{ source: ['aws.s3'] }, true],
    [{ source: ['aws.ec2'] }, false],
    [{ detail: { object: { key: [{ prefix: 'incoming/' }] } } }, true],
    [{ detail: { object: { key: [{ prefix: { 'equals-ignore-case': 'INCOMING/' } }] } } }, true],
    [{ detail: { object: { key: [{ suffix: '.jpg' }] } } }, false],
    [{ detail: { object: { key: [{ suffix: { 'equals-ignore-case': '.jpg' } }] } } }, true],
    [{ detail: { object: { key: [{ 'equals-ignore-case': 'incoming/a.jpg' }] } } }, true],
    [{ detail: { object: { key: [{ wildcard: 'incoming/*.JPG' }] } } }, true],
    [{ detail: { object: { key: [{ 'anything-but': { prefix: 'incoming/' } }] } } }, false],
    [{ detail: { bucket: { name: [{ 'anything-but': ['a', 'c'] }] } } }, true],
    [{ detail: { object: { size: [{ numeric: ['>', 10, '<=', 42] }] } } }, true],
    [{ detail: { object: { size: [{ numeric: ['<', 10] }] } } }, false],
    [{ detail: { object: { etag: [{ exists: false }] } } }, true],
    [{ detail: { object: { etag: [{ exists: true }] } } }, false],
    [{ detail: { object: { etag: [{ 'anything-but': 'x' }] } } }, false],
    [{ detail: { tags: ['y'] } }, true],
    [{ detail: { empty: [null] } }, true],
    [{ detail: { ip: [{ cidr: '10.0.0.0/16' }] } }, true],
    [{ detail: { ip: [{ cidr: '10.1.0.0/16' }] } }, false],
    [{ detail: { $or: [{ bucket: { name: ['z'] } }, { object: { size: [42] } }] } }, true],
    [JSON.stringify({ 'detail-type': ['Object Created'], 'resources': ['arn:aws:s3:::b'] }), true],
  ])('%j matches: %s', (pattern, expected) => {
    expect(matches(pattern)).toBe(expected);
  });

  test.each([
    [{ source: 'aws.s3' }], [{ source: [] }], [{ source: [{ unknown: 1 }] }], [{ detail: { n: [{ numeric: ['>>', 1] }] } }], ['{not json'], [['x']],
    [{ $or: [{ a: ['b'] }] }],
  ])('%j is refused', (pattern) => {
    expect(() => parseEventPattern(pattern)).toThrow(EventPatternError);
    expect(() => parseEventPattern(pattern)).toThrow(/^Event pattern is not valid\. Reason: /);
  });
});
