import * as path from 'node:path';

import { ENGINE_PACKAGE, evaluate, requirePolicyEngine } from '../../lib/iam/engine';

const ROLE = 'arn:aws:sts::123456789012:assumed-role/Writer/session';
const POLICY = { name: 'writer', policy: { Version: '2012-10-17', Statement: [
  { Effect: 'Allow', Action: ['s3:PutObject', 's3:GetObject'], Resource: 'arn:aws:s3:::data/images/*' },
  { Effect: 'Deny', Action: 's3:PutObject', Resource: 'arn:aws:s3:::data/images/locked/*' },
  { Effect: 'Allow', Action: 's3:ListBucket', Resource: 'arn:aws:s3:::data' },
] } };

const decide = (action: string, resource: string) => evaluate({ principal: ROLE, action, resource, resourceAccount: '123456789012',
  context: {}, identityPolicies: [POLICY] }).then((d) => `${d.allowed ? 'allow' : 'deny'}${d.explicit ? ' (explicit)' : ''}`);

describe('the policy engine', () => {
  test('its resource-type matching is memoized, and decisions repeated from the memo are the same as the first', async () => {
    requirePolicyEngine();
    const utils = require.resolve('@cloud-copilot/iam-utils', { paths: [path.dirname(require.resolve(ENGINE_PACKAGE))] });
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const inner = require(path.join(path.dirname(utils), 'resourceTypes.js')) as { mostSpecificMatchingResourceTypePatterns: { memoized?: boolean } };
    expect(inner.mostSpecificMatchingResourceTypePatterns.memoized).toBe(true);

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
