import { buildWorkflowDefinition } from '../../lib/model/definition';
import { analyzeDefinition, checkErrorNames, readPath, routeResource } from '../../lib/runner/asl';

describe('routeResource', () => {
  test('AWS SDK integrations route to sdk with service and action', () => {
    expect(routeResource('arn:aws:states:::aws-sdk:rekognition:createProjectVersion'))
      .toEqual({ kind: 'sdk', service: 'rekognition', action: 'createProjectVersion' });
    expect(routeResource('arn:aws-cn:states:::aws-sdk:s3:getObject')).toEqual({ kind: 'sdk', service: 's3', action: 'getObject' });
  });

  test('lambda:invoke and bare function ARNs (with or without qualifier) route to lambda', () => {
    expect(routeResource('arn:aws:states:::lambda:invoke')).toEqual({ kind: 'lambda', style: 'invoke' });
    const arn = 'arn:aws:lambda:us-east-1:123456789012:function:gate:live';
    expect(routeResource(arn)).toEqual({ kind: 'lambda', style: 'arn', functionArn: arn });
  });

  test('SNS and EventBridge are recorded by default; the list is the caller\'s to change', () => {
    expect(routeResource('arn:aws:states:::sns:publish')).toEqual({ kind: 'record', service: 'sns', action: 'publish' });
    expect(routeResource('arn:aws:states:::aws-sdk:eventbridge:putEvents')).toEqual({ kind: 'record', service: 'eventbridge', action: 'putEvents' });
    expect(routeResource('arn:aws:states:::aws-sdk:ssm:putParameter', ['ssm:*'])).toEqual({ kind: 'record', service: 'ssm', action: 'putParameter' });
    expect(routeResource('arn:aws:states:::sns:publish', [])).toBeUndefined();
  });

  test('unknown integrations and activities have no route; .sync and .waitForTaskToken are refused', () => {
    expect(routeResource('arn:aws:states:::dynamodb:putItem')).toBeUndefined();
    expect(routeResource('arn:aws:states:us-east-1:123456789012:activity:a')).toBeUndefined();
    expect(() => routeResource('arn:aws:states:::lambda:invoke.waitForTaskToken'))
      .toThrow('the .waitForTaskToken integration pattern is not supported offline');
    expect(() => routeResource('arn:aws:states:::states:startExecution.sync:2')).toThrow('the .sync:2 integration pattern is not supported offline');
  });
});

describe('analyzeDefinition', () => {
  const nested = {
    StartAt: 'Par',
    States: {
      Par: {
        Type: 'Parallel',
        Branches: [
          { StartAt: 'Wait1', States: { Wait1: { Type: 'Wait', Seconds: 1, End: true } } },
          {
            StartAt: 'Each',
            States: {
              Each: {
                Type: 'Map',
                Iterator: {
                  StartAt: 'Call',
                  States: { Call: { Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke', Retry: [{ ErrorEquals: ['States.ALL'] }], End: true } },
                },
                End: true,
              },
            },
          },
        ],
        End: true,
      },
    },
  };

  test('finds Tasks, Waits and Retry states inside Parallel branches and Map iterators', () => {
    const info = analyzeDefinition(nested);
    expect(info.tasks)
      .toEqual([{ stateName: 'Call', resource: 'arn:aws:states:::lambda:invoke', path: 'States.Par.Branches[1].States.Each.Iterator.States.Call' }]);
    expect(info.waitStates).toEqual(['Wait1']);
    expect(info.retryStates).toEqual(['Call']);
    expect([...info.states.keys()]).toEqual(['Par', 'Wait1', 'Each', 'Call']);
  });

  test('refuses JSONata inside a Map ItemProcessor, Assign, falsy Pass results and duplicate names; skips distributed Maps\' children', () => {
    const map = (processor: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
      ({ StartAt: 'M', States: { M: { Type: 'Map', ItemProcessor: processor, End: true, ...extra } } });
    const pass = (state: Record<string, unknown>) => ({ StartAt: 'P', States: { P: { Type: 'Pass', End: true, ...state } } });
    expect(() => analyzeDefinition(map({ QueryLanguage: 'JSONata', StartAt: 'X', States: { X: { Type: 'Succeed' } } })))
      .toThrow('States.M.ItemProcessor uses QueryLanguage JSONata');
    expect(() => analyzeDefinition(pass({ Assign: { x: 1 } }))).toThrow('States.P.Assign: JSONPath variables are not supported');
    expect(() => analyzeDefinition(pass({ Result: 0 }))).toThrow('States.P.Result is 0: aws-local-stepfunctions ignores a falsy Pass Result');
    expect(() => analyzeDefinition(map({ StartAt: 'M', States: { M: { Type: 'Succeed' } } })))
      .toThrow('state name "M" is used twice (States.M.ItemProcessor.States.M)');
    // A distributed Map's children are executions of their own: their state names may repeat the parent's.
    const distributed = analyzeDefinition(map({ StartAt: 'M', States: { M: { Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke', End: true } },
      ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' } }));
    expect([...distributed.states.keys()]).toEqual(['M']);
    expect(distributed.tasks).toEqual([]);
  });
});

describe('readPath', () => {
  test('reads dotted, bracketed and indexed paths and the context object', () => {
    const input = { a: { 'b c': [10, { d: 'x' }] } };
    expect(readPath('$', input)).toBe(input);
    expect(readPath("$.a['b c'][1].d", input)).toBe('x');
    expect(readPath('$.a["b c"][0]', input)).toBe(10);
    expect(readPath('$.a.missing.deeper', input)).toBeUndefined();
    expect(readPath('$$.Execution.Input.n', input, { Execution: { Input: { n: 3 } } })).toBe(3);
  });

  test('refuses what it cannot read', () => {
    expect(() => readPath('$.items[*].id', {})).toThrow('JSONPath "$.items[*].id" is beyond what the offline runner reads');
    expect(() => readPath('items', {})).toThrow('"items" is not a JSONPath');
  });
});

describe('checkErrorNames', () => {
  const task = (resource: string, errors: string[]) => ({ StartAt: 'T', States: { T: { Type: 'Task', Resource: resource, End: true,
    Retry: [{ ErrorEquals: errors }], Catch: [{ ErrorEquals: ['States.ALL'], Next: 'T' }] } } });

  test('the model workflow names only errors its tasks raise', () => {
    expect(checkErrorNames(buildWorkflowDefinition({ prepare: 'arn:aws:lambda:us-east-1:123456789012:function:p',
      gate: 'arn:aws:lambda:us-east-1:123456789012:function:g', notify: 'arn:aws:lambda:us-east-1:123456789012:function:n' }))).toEqual([]);
  });

  test('an SDK error without the service prefix, without "Exception", or unknown to the service is refused, naming the retrier', () => {
    const rekognition = 'arn:aws:states:::aws-sdk:rekognition:createProjectVersion';
    expect(checkErrorNames(task(rekognition, ['ThrottlingException']))).toEqual([
      'States.T.Retry[0] names "ThrottlingException", which Step Functions never raises for this task (errors of aws-sdk:rekognition tasks are named '
      + '"Rekognition.<Name>Exception")']);
    expect(checkErrorNames(task(rekognition, ['Rekognition.InternalServerError']))[0]).toContain('which Step Functions never raises');
    expect(checkErrorNames(task(rekognition, ['Rekognition.NoSuchKeyException']))[0]).toContain('its AWS SDK knows no NoSuchKeyException');
    expect(checkErrorNames(task(rekognition, ['States.Timeot']))[0]).toContain('is not an error Step Functions raises');
  });

  test('the service\'s own error shapes, SdkClientException, States errors and any Lambda function error pass', () => {
    expect(checkErrorNames(task('arn:aws:states:::aws-sdk:rekognition:startProjectVersion', ['Rekognition.LimitExceededException',
      'Rekognition.InternalServerErrorException', 'Rekognition.SdkClientException', 'States.TaskFailed']))).toEqual([]);
    expect(checkErrorNames(task('arn:aws:states:::lambda:invoke', ['GateError', 'Lambda.ServiceException']))).toEqual([]);
  });
});
