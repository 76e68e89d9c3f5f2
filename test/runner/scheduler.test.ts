import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { LocalCloud, startLocalCloud } from '../../lib/emulator/local-cloud';
import { LocalDeployError, LocalRunner } from '../../lib/runner/local-runner';
import { PreflightError } from '../../lib/runner/preflight';

type Json = Record<string, unknown>;

// The function appends each event it gets to a file, with the virtual time it ran at.
const CODE = `
const fs = require('fs');
exports.handler = async (event) => { fs.appendFileSync(process.env.OUT, JSON.stringify({ event, at: Date.now() }) + '\\n'); return 'ok'; };
`;

const trust = (service: string): Json => ({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: service }, Action: 'sts:AssumeRole' }] });
const allow = (action: string, resource: unknown): Json => ({ PolicyName: 'p', PolicyDocument: { Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: action, Resource: resource }] } });

function schedule(expression: string, roleId: string, extra: Json = {}, target: Json = {}): Json {
  return { Type: 'AWS::Scheduler::Schedule', Properties: {
    ScheduleExpression: expression, FlexibleTimeWindow: { Mode: 'OFF' }, ...extra,
    Target: { Arn: { 'Fn::GetAtt': ['Fn', 'Arn'] }, RoleArn: { 'Fn::GetAtt': [roleId, 'Arn'] }, ...target },
  } };
}

function baseResources(out: string): Record<string, Json> {
  return {
    FnRole: { Type: 'AWS::IAM::Role', Properties: { AssumeRolePolicyDocument: trust('lambda.amazonaws.com') } },
    Fn: { Type: 'AWS::Lambda::Function', Properties: { Code: { ZipFile: CODE }, Handler: 'index.handler', Runtime: 'nodejs20.x',
      Role: { 'Fn::GetAtt': ['FnRole', 'Arn'] }, Environment: { Variables: { OUT: out } } } },
    // Trusts the scheduler and may invoke the function.
    SchedulerRole: { Type: 'AWS::IAM::Role', Properties: { AssumeRolePolicyDocument: trust('scheduler.amazonaws.com'),
      Policies: [allow('lambda:InvokeFunction', { 'Fn::GetAtt': ['Fn', 'Arn'] })] } },
  };
}

function writeAssembly(dir: string, resources: Record<string, Json>): string {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'Test.template.json'), JSON.stringify({ Resources: resources }));
  fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify({
    version: '55.0.0',
    artifacts: { Test: { type: 'aws:cloudformation:stack', environment: 'aws://unknown-account/us-east-1', properties: { templateFile: 'Test.template.json' } } },
  }));
  return dir;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const iso = (ms: number): string => new Date(ms).toISOString().slice(0, 16);

describe('EventBridge Scheduler schedules on the virtual clock', () => {
  let cloud: LocalCloud;
  let dir: string;
  let out: string;

  beforeAll(async () => {
    cloud = await startLocalCloud({ timeScale: 0 });
  });
  afterAll(async () => cloud.stop());
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scheduler-'));
    out = path.join(dir, 'events.jsonl');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const events = (): { event: Json; at: number }[] => (fs.existsSync(out)
    ? fs.readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { event: Json; at: number }) : []);

  test('rate and cron fire at the right virtual times over a week with a DST change in Europe/Berlin; a redeploy changes and deletes them', async () => {
    // Wednesday 2036-03-26 00:00 UTC; Berlin moves its clocks forward on Sunday 2036-03-30 at 02:00.
    const monday = Date.UTC(2036, 2, 26);
    if (cloud.clock.now() < monday) cloud.clock.advance(monday - cloud.clock.now());
    const start = cloud.clock.now();
    const runner = await LocalRunner.open({ stateDir: path.join(dir, 'state'), cloud, log: process.env.DBG ? (l) => console.log(l) : undefined });
    try {
      await runner.deploy(writeAssembly(path.join(dir, 'v1'), {
        ...baseResources(out),
        Hourly: schedule('rate(6 hours)', 'SchedulerRole', {}, { Input: JSON.stringify({ kind: 'rate' }) }),
        Office: schedule('cron(0 9 ? * MON-FRI *)', 'SchedulerRole', { ScheduleExpressionTimezone: 'Europe/Berlin' },
          { Input: JSON.stringify({ kind: 'office' }) }),
        Night: schedule('cron(30 2 * * ? *)', 'SchedulerRole', { ScheduleExpressionTimezone: 'Europe/Berlin' }, { Input: JSON.stringify({ kind: 'night' }) }),
        Off: schedule('rate(1 minute)', 'SchedulerRole', { State: 'DISABLED' }),
        Once: schedule('at(2036-03-27T12:00:00)', 'SchedulerRole', { ScheduleExpressionTimezone: 'Asia/Tokyo', ActionAfterCompletion: 'DELETE' },
          { Input: JSON.stringify({ kind: 'once' }) }),
      }));
      // A week less an hour: an occurrence exactly at the end would race the end of runFor.
      await runner.runFor(7 * DAY - HOUR);

      const by = (name: string): string[] => runner.scheduleInvocations().filter((i) => i.resource === `Test/${name}`).map((i) => iso(i.at));
      // A rate fires at creation, then every 6 hours.
      expect(by('Hourly')).toHaveLength(28);
      expect(by('Hourly').slice(0, 3)).toEqual([iso(start), iso(start + 6 * HOUR), iso(start + 12 * HOUR)]);
      // 09:00 in Berlin is 08:00 UTC before the change and 07:00 UTC after it; no weekend.
      expect(by('Office')).toEqual(['2036-03-26T08:00', '2036-03-27T08:00', '2036-03-28T08:00', '2036-03-31T07:00', '2036-04-01T07:00']);
      // 02:30 does not exist in Berlin on 2036-03-30: skipped.
      expect(by('Night')).toEqual(['2036-03-26T01:30', '2036-03-27T01:30', '2036-03-28T01:30', '2036-03-29T01:30', '2036-03-31T00:30',
        '2036-04-01T00:30']);
      expect(by('Off')).toEqual([]);
      // 12:00 in Tokyo (UTC+9), once.
      expect(by('Once')).toEqual(['2036-03-27T03:00']);
      expect(runner.stackState('Test')?.resources.Once.extra?.deletedAfterCompletion).toBe(true);
      // Every invocation reached the function, with its input, at the virtual time it fired.
      expect(runner.scheduleInvocations().every((i) => i.outcome === 'SUCCEEDED' && i.functionResult === 'SUCCEEDED')).toBe(true);
      const office = events().filter((e) => e.event.kind === 'office').map((e) => iso(e.at));
      expect(office).toEqual(by('Office'));

      // WHEN a redeploy changes one schedule and deletes another
      const count = runner.scheduleInvocations().length;
      const changedAt = cloud.clock.now();
      await runner.deploy(writeAssembly(path.join(dir, 'v2'), {
        ...baseResources(out),
        Hourly: schedule('rate(12 hours)', 'SchedulerRole', {}, { Input: JSON.stringify({ kind: 'rate' }) }),
      }));
      await runner.runFor(DAY - HOUR);
      // THEN only the changed schedule fires, from the update on
      const later = runner.scheduleInvocations().slice(count);
      expect(later.map((i) => [i.resource, i.at - changedAt])).toEqual([['Test/Hourly', 0], ['Test/Hourly', 12 * HOUR]]);
    } finally {
      await runner.destroy();
      await runner.close();
    }
  });

  test('a role that may not invoke the function, or does not trust the scheduler: the invocation fails, nothing runs', async () => {
    const runner = await LocalRunner.open({ stateDir: path.join(dir, 'state'), cloud, log: process.env.DBG ? (l) => console.log(l) : undefined });
    try {
      await runner.deploy(writeAssembly(path.join(dir, 'v1'), {
        ...baseResources(out),
        NoPolicyRole: { Type: 'AWS::IAM::Role', Properties: { AssumeRolePolicyDocument: trust('scheduler.amazonaws.com') } },
        LambdaTrustRole: { Type: 'AWS::IAM::Role', Properties: { AssumeRolePolicyDocument: trust('lambda.amazonaws.com'),
          Policies: [allow('lambda:InvokeFunction', { 'Fn::GetAtt': ['Fn', 'Arn'] })] } },
        Denied: schedule('rate(1 day)', 'NoPolicyRole'),
        Untrusted: schedule('rate(1 day)', 'LambdaTrustRole', { FlexibleTimeWindow: { Mode: 'FLEXIBLE', MaximumWindowInMinutes: 15 } },
          { DeadLetterConfig: { Arn: 'arn:aws:sqs:us-east-1:123456789012:dlq' } }),
      }));
      await runner.runFor(DAY + HOUR);
      const denied = runner.scheduleInvocations().filter((i) => i.resource === 'Test/Denied');
      expect(denied).toHaveLength(2);
      expect(denied[0]).toMatchObject({ outcome: 'FAILED' });
      expect(denied[0].error).toMatch(/^AccessDeniedException: User: arn:aws:sts::123456789012:assumed-role\/.+ is not authorized to perform: lambda:InvokeFunction on resource: arn:aws:lambda:us-east-1:123456789012:function:.+ because no identity-based policy allows the lambda:InvokeFunction action$/);
      const untrusted = runner.scheduleInvocations().filter((i) => i.resource === 'Test/Untrusted');
      expect(untrusted).toHaveLength(2);
      expect(untrusted[0]).toMatchObject({ outcome: 'FAILED', deadLetterArn: 'arn:aws:sqs:us-east-1:123456789012:dlq' });
      expect(untrusted[0].error).toMatch(/does not allow scheduler.amazonaws.com to perform sts:AssumeRole/);
      // FLEXIBLE: within the 15-minute window of each occurrence, deterministically.
      for (const i of untrusted) expect(i.at - i.scheduledAt).toBeGreaterThanOrEqual(0);
      for (const i of untrusted) expect(i.at - i.scheduledAt).toBeLessThan(15 * 60_000);
      expect(events()).toEqual([]);
    } finally {
      await runner.destroy();
      await runner.close();
    }
  });

  test('a state machine target, direct and through the universal target, starts executions as the role', async () => {
    const runner = await LocalRunner.open({ stateDir: path.join(dir, 'state'), cloud, log: process.env.DBG ? (l) => console.log(l) : undefined });
    try {
      const machineArn = { Ref: 'Machine' };
      await runner.deploy(writeAssembly(path.join(dir, 'v1'), {
        ...baseResources(out),
        MachineRole: { Type: 'AWS::IAM::Role', Properties: { AssumeRolePolicyDocument: trust('states.amazonaws.com') } },
        Machine: { Type: 'AWS::StepFunctions::StateMachine', Properties: { RoleArn: { 'Fn::GetAtt': ['MachineRole', 'Arn'] },
          DefinitionString: JSON.stringify({ StartAt: 'Done', States: { Done: { Type: 'Pass', End: true } } }) } },
        StartRole: { Type: 'AWS::IAM::Role', Properties: { AssumeRolePolicyDocument: trust('scheduler.amazonaws.com'),
          Policies: [allow('states:StartExecution', machineArn)] } },
        Direct: schedule('rate(1 day)', 'StartRole', {}, { Arn: machineArn, Input: JSON.stringify({ via: 'direct' }) }),
        Universal: schedule('rate(1 day)', 'StartRole', {}, { Arn: 'arn:aws:scheduler:::aws-sdk:sfn:startExecution',
          Input: { 'Fn::Join': ['', ['{"StateMachineArn":"', machineArn, '","Input":"{\\"via\\":\\"universal\\"}"}']] } }),
        // May invoke the function only: StartExecution is denied.
        Denied: schedule('rate(1 day)', 'SchedulerRole', {}, { Arn: machineArn }),
      }));
      await runner.settle();
      const inputs = runner.executions().map((e) => JSON.parse(e.input) as Json);
      expect(inputs).toEqual(expect.arrayContaining([{ via: 'direct' }, { via: 'universal' }]));
      expect(runner.executions()).toHaveLength(2);
      expect(runner.executions().every((e) => e.status === 'SUCCEEDED')).toBe(true);
      const denied = runner.scheduleInvocations().find((i) => i.resource === 'Test/Denied');
      expect(denied?.error).toMatch(/not authorized to perform: states:StartExecution/);
    } finally {
      await runner.destroy();
      await runner.close();
    }
  });

  test('a bad expression fails the deploy with Scheduler\'s ValidationException; a target the runner cannot reach is refused up front', async () => {
    const runner = await LocalRunner.open({ stateDir: path.join(dir, 'state'), cloud, log: process.env.DBG ? (l) => console.log(l) : undefined });
    try {
      const bad = runner.deploy(writeAssembly(path.join(dir, 'bad'), { ...baseResources(out), Bad: schedule('cron(0 9 * * MON *)', 'SchedulerRole') }));
      await expect(bad).rejects.toThrow(LocalDeployError);
      await expect(bad).rejects.toThrow('Bad failed: ValidationException: Invalid Schedule Expression cron(0 9 * * MON *).');
      const queue = runner.deploy(writeAssembly(path.join(dir, 'queue'), { ...baseResources(out),
        Queue: { Type: 'AWS::SQS::Queue' },
        ToQueue: schedule('rate(1 day)', 'SchedulerRole', {}, { Arn: { 'Fn::GetAtt': ['Queue', 'Arn'] } }) }));
      await expect(queue).rejects.toThrow(PreflightError);
      await expect(queue).rejects.toThrow(/Test\/ToQueue \(AWS::Scheduler::Schedule\): its target is AWS::SQS::Queue Queue/);
    } finally {
      await runner.destroy();
      await runner.close();
    }
  });
});
