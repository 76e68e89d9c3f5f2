import { parseTeardownProperties, TEARDOWN_HANDLER_TIMEOUT_SECONDS, TEARDOWN_TOTAL_TIMEOUT_SECONDS } from '../../lib/project/teardown-contract';

const ARN = 'arn:aws:rekognition:eu-west-1:123456789012:project/p.1_x-y/1574317227432';

describe('parseTeardownProperties', () => {
  test('accepts what the construct sends', () => {
    expect(parseTeardownProperties({ ServiceToken: 't', ProjectArn: ARN, Mode: 'DESTROY', TimeoutSeconds: '600' }))
      .toEqual({ ProjectArn: ARN, Mode: 'DESTROY', TimeoutSeconds: '600' });
  });

  test('defaults the timeout to the handler budget, which ends before the Provider framework gives up', () => {
    expect(parseTeardownProperties({ ProjectArn: ARN, Mode: 'RETAIN' }).TimeoutSeconds).toBe(String(TEARDOWN_HANDLER_TIMEOUT_SECONDS));
    expect(TEARDOWN_HANDLER_TIMEOUT_SECONDS).toBeLessThan(TEARDOWN_TOTAL_TIMEOUT_SECONDS);
    expect(TEARDOWN_TOTAL_TIMEOUT_SECONDS).toBeLessThanOrEqual(2 * 3600);
  });

  test.each([
    [undefined, 'Teardown properties missing'],
    [{ Mode: 'RETAIN' }, 'ProjectArn must be a project ARN matching'],
    [{ ProjectArn: `${ARN}/extra`, Mode: 'RETAIN' }, `got: "${ARN}/extra"`],
    [{ ProjectArn: ARN, Mode: 'retain' }, 'Mode must be one of RETAIN, DESTROY, got: "retain"'],
    [{ ProjectArn: ARN, Mode: 'RETAIN', TimeoutSeconds: '0' }, 'TimeoutSeconds must be a positive integer, got: "0"'],
    [{ ProjectArn: ARN, Mode: 'RETAIN', TimeoutSeconds: '1.5' }, 'TimeoutSeconds must be a positive integer, got: "1.5"'],
  ])('rejects %j', (raw, message) => {
    expect(() => parseTeardownProperties(raw)).toThrow(message);
  });
});
