import { UnsupportedDefinitionError } from '../../lib/runner/asl';
import { HISTORY_LIMIT_ERROR, retryDelaySeconds, runStateMachine } from '../../lib/runner/state-machine';

const REK = (action: string): string => `arn:aws:states:::aws-sdk:rekognition:${action}`;

/** A service-like exception, shaped as the AWS SDK v3 throws them. */
function serviceError(name: string, message: string, status = 400): Error {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status, requestId: 'req-1' } });
}

// A training-style poll: Describe, Choice on a counter, Wait, back to Describe.
const pollDefinition = {
  StartAt: 'Init',
  States: {
    Init: { Type: 'Pass', Parameters: { polls: 1 }, ResultPath: '$.counter', Next: 'Describe' },
    Describe: {
      Type: 'Task',
      Resource: REK('describeProjectVersions'),
      Parameters: { 'ProjectArn.$': '$.projectArn' },
      ResultSelector: { 'status.$': '$.ProjectVersionDescriptions[0].Status' },
      ResultPath: '$.describe',
      Retry: [{ ErrorEquals: ['Rekognition.ThrottlingException'], IntervalSeconds: 5, BackoffRate: 2, MaxAttempts: 3 }],
      Next: 'Done?',
    },
    'Done?': {
      Type: 'Choice',
      Choices: [{ Variable: '$.describe.status', StringEquals: 'TRAINING_COMPLETED', Next: 'Trained' }],
      Default: 'Count',
    },
    Count: { Type: 'Pass', Parameters: { 'polls.$': 'States.MathAdd($.counter.polls, 1)' }, ResultPath: '$.counter', Next: 'Wait' },
    Wait: { Type: 'Wait', SecondsPath: '$.waitSeconds', Next: 'Describe' },
    Trained: { Type: 'Succeed' },
  },
};

describe('runStateMachine', () => {
  test('a wait loop with a throttled Task: retries, waits and the virtual clock', async () => {
    // GIVEN a service that throttles twice, then reports TRAINING_IN_PROGRESS twice before completing
    const answers: (Error | string)[] = [
      serviceError('ThrottlingException', 'Rate exceeded', 500),
      serviceError('ThrottlingException', 'Rate exceeded', 500),
      'TRAINING_IN_PROGRESS',
      'TRAINING_IN_PROGRESS',
      'TRAINING_COMPLETED',
    ];
    const calls: { action: string; params: Record<string, unknown>; clock: number }[] = [];
    let clock = 0;
    const waits: [number | string, string][] = [];
    const retries: [number, string, number, string | undefined][] = [];

    // WHEN the machine runs
    const result = await runStateMachine({
      definition: JSON.stringify(pollDefinition),
      input: { projectArn: 'arn:p', waitSeconds: 600 },
      sdkHandler: async (service, action, params) => {
        calls.push({ action: `${service}:${action}`, params, clock });
        const next = answers.shift();
        if (next instanceof Error) throw next;
        return { ProjectVersionDescriptions: [{ Status: next }], $metadata: { httpStatusCode: 200 } };
      },
      onWait: (wait, state) => {
        waits.push([wait, state]);
        clock += wait as number;
      },
      onRetry: (delay, state, attempt, error) => {
        retries.push([delay, state, attempt, error]);
        clock += delay;
      },
    });

    // THEN it succeeds after 5 calls, 2 retries (5 s then 10 s) and 2 waits of 600 s
    expect(result.status).toBe('SUCCEEDED');
    expect(result.output).toEqual({ projectArn: 'arn:p', waitSeconds: 600, counter: { polls: 3 }, describe: { status: 'TRAINING_COMPLETED' } });
    expect(calls.map((c) => c.action)).toEqual(Array(5).fill('rekognition:describeProjectVersions'));
    expect(calls[0].params).toEqual({ ProjectArn: 'arn:p' });
    expect(retries).toEqual([
      [5, 'Describe', 1, 'Rekognition.ThrottlingException'],
      [10, 'Describe', 2, 'Rekognition.ThrottlingException'],
    ]);
    expect(waits).toEqual([[600, 'Wait'], [600, 'Wait']]);
    expect(result.virtualSeconds).toBe(5 + 10 + 600 + 600);
    // AND each Task saw the clock its preceding pauses had set
    expect(calls.map((c) => c.clock)).toEqual([0, 5, 15, 615, 1215]);
    const taskCalls = result.events.filter((e) => e.type === 'TaskCall');
    expect(taskCalls.map((e) => e.error))
      .toEqual(['Rekognition.ThrottlingException', 'Rekognition.ThrottlingException', undefined, undefined, undefined]);
    expect(taskCalls[0].cause).toBe('Rate exceeded (Service: Rekognition, Status Code: 500, Request ID: req-1)');
    expect(result.events.filter((e) => e.type === 'Wait').map((e) => [e.seconds, e.at])).toEqual([[600, 15], [600, 615]]);
  });

  test('a Catch sends a persistent service error to a Fail state that reports it', async () => {
    // GIVEN a Task whose service always fails with InternalServerError, retried twice, then caught
    const definition = {
      StartAt: 'Create',
      States: {
        Create: {
          Type: 'Task',
          Resource: REK('createProjectVersion'),
          Retry: [{
            ErrorEquals: ['Rekognition.InternalServerErrorException'], IntervalSeconds: 3, BackoffRate: 10, MaxDelaySeconds: 20, MaxAttempts: 2,
          }],
          Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Failed' }],
          End: true,
        },
        Failed: { Type: 'Fail', Error: 'TrainingFailed', Cause: 'could not start training' },
      },
    };

    // WHEN it runs
    const result = await runStateMachine({
      definition,
      sdkHandler: () => { throw serviceError('InternalServerError', 'Internal server error', 500); },
    });

    // THEN the run fails with the Fail state's error after two capped retries
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('TrainingFailed');
    expect(result.cause).toBe('could not start training');
    expect(result.virtualSeconds).toBe(3 + 20);
    const caught = result.events.find((e) => e.type === 'StateCaught');
    expect(caught).toMatchObject({ state: 'Create', error: 'Rekognition.InternalServerErrorException', next: 'Failed' });
  });

  test('an uncaught Lambda error fails the run with the function error type and its JSON cause', async () => {
    // GIVEN a lambda:invoke Task whose function throws
    const definition = {
      StartAt: 'Gate',
      States: {
        Gate: {
          Type: 'Task',
          Resource: 'arn:aws:states:::lambda:invoke',
          Parameters: { FunctionName: 'arn:aws:lambda:us-east-1:123456789012:function:gate', 'Payload.$': '$' },
          End: true,
        },
      },
    };
    class GateError extends Error { name = 'GateError'; }

    // WHEN it runs
    const result = await runStateMachine({ definition, input: { f1: 0.5 }, lambdaHandler: () => { throw new GateError('F1 0.5 is below 0.8'); } });

    // THEN
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('GateError');
    expect(JSON.parse(result.cause!)).toEqual({ errorType: 'GateError', errorMessage: 'F1 0.5 is below 0.8' });
  });

  test('lambda:invoke results are wrapped, bare function ARNs are not', async () => {
    // GIVEN one Task of each style
    const definition = {
      StartAt: 'Invoke',
      States: {
        Invoke: {
          Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke', Parameters: { FunctionName: 'split', 'Payload.$': '$' },
          ResultPath: '$.invoke', Next: 'Bare',
        },
        Bare: { Type: 'Task', Resource: 'arn:aws:lambda:us-east-1:123456789012:function:bare', ResultPath: '$.bare', End: true },
      },
    };
    const seen: [string, unknown][] = [];

    // WHEN it runs
    const result = await runStateMachine({
      definition,
      input: { n: 1 },
      lambdaHandler: (fn, payload) => { seen.push([fn, payload]); return { fn, when: new Date(0) }; },
    });

    // THEN
    expect(result.status).toBe('SUCCEEDED');
    expect(seen).toEqual([
      ['split', { n: 1 }],
      ['arn:aws:lambda:us-east-1:123456789012:function:bare', {
        n: 1,
        invoke: { StatusCode: 200, Payload: { fn: 'split', when: '1970-01-01T00:00:00.000Z' }, ExecutedVersion: '$LATEST' },
      }],
    ]);
    expect(result.output).toMatchObject({ bare: { fn: 'arn:aws:lambda:us-east-1:123456789012:function:bare' } });
  });

  test('a Map state runs each item through routed Tasks; SNS and EventBridge are recorded', async () => {
    // GIVEN a Map over versions whose iterations stop each version, then a notification
    const definition = {
      StartAt: 'StopAll',
      States: {
        StopAll: {
          Type: 'Map',
          ItemsPath: '$.versions',
          ItemProcessor: {
            ProcessorConfig: { Mode: 'INLINE' },
            StartAt: 'Stop',
            States: { Stop: { Type: 'Task', Resource: REK('stopProjectVersion'), Parameters: { 'ProjectVersionArn.$': '$' }, End: true } },
          },
          ResultPath: '$.stopped',
          Next: 'Notify',
        },
        Notify: {
          Type: 'Task', Resource: 'arn:aws:states:::sns:publish', Parameters: { TopicArn: 'arn:t', Message: 'stopped' },
          ResultPath: '$.sns', Next: 'Event',
        },
        Event: {
          Type: 'Task', Resource: 'arn:aws:states:::events:putEvents', Parameters: { Entries: [{ Detail: {} }] }, ResultPath: '$.events', End: true,
        },
      },
    };
    const stopped: unknown[] = [];
    const recorded: [string, string, unknown][] = [];

    // WHEN it runs
    const result = await runStateMachine({
      definition,
      input: { versions: ['v1', 'v2', 'v3'] },
      sdkHandler: (_s, _a, params) => { stopped.push(params.ProjectVersionArn); return { Status: 'STOPPING' }; },
      record: (service, action, params) => { recorded.push([service, action, params]); return undefined; },
    });

    // THEN
    expect(result.status).toBe('SUCCEEDED');
    expect([...stopped].sort()).toEqual(['v1', 'v2', 'v3']);
    expect(result.output).toMatchObject({ stopped: [{ Status: 'STOPPING' }, { Status: 'STOPPING' }, { Status: 'STOPPING' }] });
    expect(recorded).toEqual([['sns', 'publish', { TopicArn: 'arn:t', Message: 'stopped' }], ['events', 'putEvents', { Entries: [{ Detail: {} }] }]]);
    const out = result.output as { sns: { MessageId: string }; events: { FailedEntryCount: number; Entries: unknown[] } };
    expect(out.sns.MessageId).toMatch(/^[0-9a-f-]{36}$/);
    expect(out.events.FailedEntryCount).toBe(0);
    expect(out.events.Entries).toHaveLength(1);
    const stops = result.events.filter((e) => e.type === 'StateEntered' && e.state === 'Stop');
    expect(stops.map((e) => e.index).sort()).toEqual([0, 1, 2]);
  });

  test('Wait with Timestamp advances by the distance from the virtual clock', async () => {
    // GIVEN a virtual clock at 2025-01-01T00:00:00Z and a wait until one hour later
    const definition = { StartAt: 'Until', States: { Until: { Type: 'Wait', Timestamp: '2025-01-01T01:00:00Z', End: true } } };
    const waits: (number | string)[] = [];

    // WHEN it runs
    const result = await runStateMachine({ definition, clock: () => Date.parse('2025-01-01T00:00:00Z'), onWait: (w) => { waits.push(w); } });

    // THEN
    expect(result.status).toBe('SUCCEEDED');
    expect(waits).toEqual(['2025-01-01T01:00:00Z']);
    expect(result.virtualSeconds).toBe(3600);
  });

  test('Wait SecondsPath reads after InputPath, and can read the execution input', async () => {
    const definition = {
      StartAt: 'A',
      States: {
        A: { Type: 'Wait', InputPath: '$.cfg', SecondsPath: '$.seconds', Next: 'B' },
        B: { Type: 'Wait', SecondsPath: '$$.Execution.Input.cfg.seconds', End: true },
      },
    };
    const result = await runStateMachine({ definition, input: { cfg: { seconds: 30 } } });
    expect(result.status).toBe('SUCCEEDED');
    expect(result.events.filter((e) => e.type === 'Wait').map((e) => [e.state, e.seconds])).toEqual([['A', 30], ['B', 30]]);
    expect(result.virtualSeconds).toBe(60);
  });

  test('the definition TimeoutSeconds applies to virtual time', async () => {
    // GIVEN a machine that waits 2 hours under a 1 hour timeout, then calls the service
    const definition = {
      TimeoutSeconds: 3600,
      StartAt: 'Long',
      States: { Long: { Type: 'Wait', Seconds: 7200, Next: 'After' }, After: { Type: 'Task', Resource: REK('startProjectVersion'), End: true } },
    };
    const calls: string[] = [];

    // WHEN it runs
    const result = await runStateMachine({ definition, sdkHandler: (_s, action) => { calls.push(action); return {}; } });

    // THEN it times out during the wait and the service is never called
    expect(result.status).toBe('TIMED_OUT');
    expect(result.error).toBe('States.Timeout');
    expect(result.events.some((e) => e.state === 'After')).toBe(false);
    expect(calls).toEqual([]);
  });

  test('a Task\'s TimeoutSeconds runs from its call, not from the wait before it (a wait held in real time by the emulator\'s jobs)', async () => {
    // GIVEN a Wait whose virtual time takes 1.5 s of real time (a stopped clock held while a job computes), then a 1 s Task
    const definition = {
      StartAt: 'W',
      States: { W: { Type: 'Wait', Seconds: 60, Next: 'Describe' },
        Describe: { Type: 'Task', Resource: REK('describeProjectVersions'), TimeoutSeconds: 1, End: true } },
    };

    // WHEN it runs
    const result = await runStateMachine({ definition, onWait: () => new Promise((resolve) => setTimeout(resolve, 1500)),
      sdkHandler: () => ({ ProjectVersionDescriptions: [] }) });

    // THEN the call is made and answers in time
    expect([result.status, result.error]).toEqual(['SUCCEEDED', undefined]);
  });

  test('a call slower than its TimeoutSeconds fails with States.Timeout, which States.TaskFailed does not catch', async () => {
    // GIVEN a 1 s Task whose service answers after 1.5 s, caught by TaskFailed first and by Timeout second
    const slow = (seconds: number) => ({
      Type: 'Task', Resource: REK('describeProjectVersions'), TimeoutSeconds: seconds, End: true,
      Catch: [{ ErrorEquals: ['States.TaskFailed'], Next: 'TaskFailed' }, { ErrorEquals: ['States.Timeout'], Next: 'TimedOut' }],
    });
    const definition = {
      StartAt: 'Slow',
      States: { Slow: slow(1), TaskFailed: { Type: 'Fail', Error: 'WrongCatch' }, TimedOut: { Type: 'Succeed' } },
    };
    const sdkHandler = () => new Promise((resolve) => setTimeout(() => resolve({}), 1500));

    // WHEN it runs
    const result = await runStateMachine({ definition, sdkHandler });

    // THEN the timeout is caught as States.Timeout, and the event says the call got no answer in time
    expect([result.status, result.error]).toEqual(['SUCCEEDED', undefined]);
    expect(result.events.find((e) => e.type === 'StateCaught')).toMatchObject({ state: 'Slow', error: 'States.Timeout', next: 'TimedOut' });
    expect(result.events.find((e) => e.type === 'TaskCall')?.cause).toContain('no answer within TimeoutSeconds (1 s');
  });

  test('TimeoutSecondsPath gives the timeout from the input; a path that gives no whole number fails the run', async () => {
    // GIVEN a Task timed by $.seconds, inside a Map (nested Tasks are timed too)
    const definition = (path: string) => ({
      StartAt: 'Each',
      States: { Each: { Type: 'Map', ItemsPath: '$.items', End: true, ItemProcessor: { StartAt: 'Slow', States: {
        Slow: { Type: 'Task', Resource: REK('describeProjectVersions'), TimeoutSecondsPath: path, End: true } } } } },
    });
    const sdkHandler = () => new Promise((resolve) => setTimeout(() => resolve({}), 1500));

    // WHEN the path gives 1 second, then 0.5
    const short = await runStateMachine({ definition: definition('$.seconds'), input: { items: [{ seconds: 1 }] }, sdkHandler });
    const bad = await runStateMachine({ definition: definition('$.seconds'), input: { items: [{ seconds: 0.5 }] }, sdkHandler });

    // THEN the first times out, the second fails the run with States.Runtime naming the path
    expect([short.status, short.error]).toEqual(['FAILED', 'States.Timeout']);
    expect([bad.status, bad.error]).toEqual(['FAILED', 'States.Runtime']);
    expect(bad.cause).toContain('TimeoutSecondsPath "$.seconds" gave 0.5');
  });

  test('aborting through the signal ends the run as ABORTED', async () => {
    // GIVEN a caller that aborts while the first wait is reported
    const controller = new AbortController();
    const definition = {
      StartAt: 'W',
      States: { W: { Type: 'Wait', Seconds: 60, Next: 'Act' }, Act: { Type: 'Task', Resource: REK('stopProjectVersion'), End: true } },
    };
    const calls: string[] = [];

    // WHEN it runs
    const result = await runStateMachine({
      definition, signal: controller.signal, onWait: () => controller.abort(), sdkHandler: (_s, action) => { calls.push(action); return {}; },
    });

    // THEN
    expect(result.status).toBe('ABORTED');
    expect(calls).toEqual([]);
  });

  test('an execution fails once its history would pass the quota (25,000 events by default), as Step Functions fails it', async () => {
    // GIVEN a loop with no exit
    const definition = {
      StartAt: 'A',
      States: {
        A: { Type: 'Wait', Seconds: 1, Next: 'B' },
        B: { Type: 'Choice', Choices: [{ Variable: '$.never', IsPresent: true, Next: 'End' }], Default: 'A' },
        End: { Type: 'Succeed' },
      },
    };

    // WHEN it runs with a small quota
    const result = await runStateMachine({ definition, maxHistoryEvents: 50 });

    // THEN it fails at the state that would pass it: ExecutionStarted, 2 per Wait or Choice, the end event (1 + 2 x 25 + 1 > 50)
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe(HISTORY_LIMIT_ERROR);
    expect(result.cause).toContain('The execution history would pass its quota of 50 events');
    expect(result.events.filter((e) => e.type === 'StateEntered').length).toBe(25);

    // AND with the default quota the same loop fails at its 12,500th state (1 + 2 x 12,500 + 1 > 25,000)
    const long = await runStateMachine({ definition });
    expect([long.status, long.error, long.events.filter((e) => e.type === 'StateEntered').length]).toEqual(['FAILED', HISTORY_LIMIT_ERROR, 12_500]);
  });

  test('a task result or state output over 256 KiB fails the run with States.DataLimitExceeded, which no Catch handles', async () => {
    const definition = { StartAt: 'Big', States: {
      Big: { Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke', Parameters: { FunctionName: 'f' }, End: true,
        Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Caught' }] },
      Caught: { Type: 'Succeed' },
    } };
    const result = await runStateMachine({ definition, lambdaHandler: () => 'x'.repeat(256 * 1024) });
    expect([result.status, result.error]).toEqual(['FAILED', 'States.DataLimitExceeded']);
    expect(result.cause).toBe('The state/task \'Big\' returned a result with a size exceeding the maximum number of bytes service limit.');
    const small = await runStateMachine({ definition, lambdaHandler: () => 'x'.repeat(1024) });
    expect(small.status).toBe('SUCCEEDED');
  });

  test('a SecondsPath that does not give seconds fails the run as AWS would', async () => {
    const definition = { StartAt: 'W', States: { W: { Type: 'Wait', SecondsPath: '$.missing', End: true } } };
    const result = await runStateMachine({ definition, input: {} });
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('States.Runtime');
    expect(result.cause).toContain('"$.missing" gave undefined');
  });

  test('JSONata definitions are refused, at the top or in a state', async () => {
    const top = { QueryLanguage: 'JSONata', StartAt: 'P', States: { P: { Type: 'Pass', End: true } } };
    const nested = { StartAt: 'P', States: { P: { Type: 'Pass', QueryLanguage: 'JSONata', Output: '{% 1 %}', End: true } } };
    await expect(runStateMachine({ definition: top })).rejects.toThrow(/the definition uses QueryLanguage JSONata/);
    await expect(runStateMachine({ definition: nested })).rejects.toThrow('States.P uses QueryLanguage JSONata');
    await expect(runStateMachine({ definition: top })).rejects.toBeInstanceOf(UnsupportedDefinitionError);
  });

  test('a Task without a route is refused before anything runs', async () => {
    // GIVEN an SDK Task but no sdkHandler, and an activity
    const definition = {
      StartAt: 'Describe',
      States: {
        Describe: { Type: 'Task', Resource: REK('describeProjects'), Next: 'Act' },
        Act: { Type: 'Task', Resource: 'arn:aws:states:us-east-1:123456789012:activity:work', End: true },
      },
    };
    const lambdaCalls: string[] = [];

    // WHEN / THEN
    await expect(runStateMachine({ definition, lambdaHandler: (fn) => { lambdaCalls.push(fn); } })).rejects.toThrow(
      'No offline route for Task Describe (arn:aws:states:::aws-sdk:rekognition:describeProjects), '
      + 'Act (arn:aws:states:us-east-1:123456789012:activity:work): it would call real AWS.');
    expect(lambdaCalls).toEqual([]);
  });

  test('taskHandlers win over routing and must name Task states', async () => {
    const activity = 'arn:aws:states:us-east-1:123456789012:activity:work';
    const definition = { StartAt: 'Act', States: { Act: { Type: 'Task', Resource: activity, End: true } } };
    const result = await runStateMachine({ definition, input: { a: 1 }, taskHandlers: { Act: (input) => ({ got: input }) } });
    expect(result.output).toEqual({ got: { a: 1 } });
    await expect(runStateMachine({ definition, taskHandlers: { Nope: () => 1 } }))
      .rejects.toThrow('taskHandlers names "Nope", which is not a Task state');
  });

  test('a failing hook fails the call to runStateMachine', async () => {
    const definition = { StartAt: 'W', States: { W: { Type: 'Wait', Seconds: 5, End: true } } };
    await expect(runStateMachine({ definition, onWait: () => { throw new Error('clock is broken'); } })).rejects.toThrow('clock is broken');
  });
});

describe('retryDelaySeconds', () => {
  test('interval times backoff to the power of the retry, capped by MaxDelaySeconds', () => {
    expect([1, 2, 3, 4].map((n) => retryDelaySeconds({ IntervalSeconds: 2, BackoffRate: 3, MaxDelaySeconds: 40 }, n))).toEqual([2, 6, 18, 40]);
    expect(retryDelaySeconds({}, 3)).toBe(4); // defaults: 1 s, rate 2
  });
});
