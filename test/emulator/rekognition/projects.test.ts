import {
  CreateProjectCommand, DeleteProjectCommand, DeleteProjectPolicyCommand, DescribeProjectsCommand, ListProjectPoliciesCommand,
  ListTagsForResourceCommand, paginateDescribeProjects, paginateListProjectPolicies, PutProjectPolicyCommand, TagResourceCommand,
  UntagResourceCommand,
} from '@aws-sdk/client-rekognition';

import { errorOf, startWorld, T0, World } from '../helpers';

const POLICY = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: '111122223333' }, Action: 'rekognition:CopyProjectVersion', Resource: '*' }] });

describe('projects, policies and tags over the wire', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld();
  });
  afterAll(async () => {
    await world.stop();
  });

  test('CreateProject returns an ARN with the clock epoch ms and DescribeProjects lists it CREATED', async () => {
    // WHEN
    const { ProjectArn } = await world.rekognition.send(new CreateProjectCommand({ ProjectName: 'first' }));
    const out = await world.rekognition.send(new DescribeProjectsCommand({ ProjectNames: ['first'] }));
    // THEN
    expect(ProjectArn).toBe(`arn:aws:rekognition:us-east-1:123456789012:project/first/${T0}`);
    expect(out.ProjectDescriptions).toHaveLength(1);
    expect(out.ProjectDescriptions![0]).toMatchObject({ ProjectArn, Status: 'CREATED', Feature: 'CUSTOM_LABELS', Datasets: [] });
    expect(out.ProjectDescriptions![0].CreationTimestamp).toEqual(new Date(T0));
    expect(out.$metadata.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  test('a second project with the same name is ResourceInUse (HTTP 400)', async () => {
    await world.rekognition.send(new CreateProjectCommand({ ProjectName: 'dup' }));
    const err = await errorOf(world.rekognition.send(new CreateProjectCommand({ ProjectName: 'dup' })));
    expect(err.name).toBe('ResourceInUseException');
    expect(err.message).toBe('The project dup already exists.');
    expect(err.$metadata?.httpStatusCode).toBe(400);
  });

  test('an invalid name is InvalidParameter naming the field and the pattern', async () => {
    const err = await errorOf(world.rekognition.send(new CreateProjectCommand({ ProjectName: 'my project' })));
    expect(err.name).toBe('InvalidParameterException');
    expect(err.message).toContain("Value 'my project' at 'ProjectName' failed to satisfy constraint: Member must satisfy regular expression pattern");
  });

  test('a missing required member is InvalidParameter', async () => {
    const err = await errorOf(world.rekognition.send(new CreateProjectCommand({} as { ProjectName: string })));
    expect(err.name).toBe('InvalidParameterException');
    expect(err.message).toContain("at 'ProjectName' failed to satisfy constraint: Member must not be null");
  });

  test('paginateDescribeProjects walks every project, oldest first, and a forged token is refused', async () => {
    // GIVEN 7 projects created 1 s apart
    const names = Array.from({ length: 7 }, (_, i) => `page-${i}`);
    for (const name of names) {
      await world.rekognition.send(new CreateProjectCommand({ ProjectName: name }));
      world.clock.advance(1000);
    }
    // WHEN
    const seen: string[] = [];
    let pages = 0;
    for await (const page of paginateDescribeProjects({ client: world.rekognition, pageSize: 3 }, { ProjectNames: names })) {
      pages += 1;
      seen.push(...page.ProjectDescriptions!.map((p) => p.ProjectArn!.split('/')[1]));
    }
    // THEN
    expect(pages).toBe(3);
    expect(seen).toEqual(names);
    const err = await errorOf(world.rekognition.send(new DescribeProjectsCommand({ NextToken: 'bm90LWEtdG9rZW4=' })));
    expect(err.name).toBe('InvalidPaginationTokenException');
    // AND an empty token is the first page, as on AWS (the developer guide's ListDatasetEntries example starts with one)
    const first = await world.rekognition.send(new DescribeProjectsCommand({ ProjectNames: names, MaxResults: 3, NextToken: '' }));
    expect(first.ProjectDescriptions!.map((p) => p.ProjectArn!.split('/')[1])).toEqual(names.slice(0, 3));
  });

  test('MaxResults above 100 is InvalidParameter', async () => {
    const err = await errorOf(world.rekognition.send(new DescribeProjectsCommand({ MaxResults: 101 })));
    expect(err.name).toBe('InvalidParameterException');
    expect(err.message).toContain("at 'MaxResults' failed to satisfy constraint: Member must have value less than or equal to 100");
  });

  test('DeleteProject goes DELETING, then the project is gone after the clock passes 10 s', async () => {
    const { ProjectArn } = await world.rekognition.send(new CreateProjectCommand({ ProjectName: 'doomed' }));
    const out = await world.rekognition.send(new DeleteProjectCommand({ ProjectArn }));
    expect(out.Status).toBe('DELETING');
    const during = await world.rekognition.send(new DescribeProjectsCommand({ ProjectNames: ['doomed'] }));
    expect(during.ProjectDescriptions![0].Status).toBe('DELETING');
    world.clock.advance(10_000);
    const after = await world.rekognition.send(new DescribeProjectsCommand({ ProjectNames: ['doomed'] }));
    expect(after.ProjectDescriptions).toEqual([]);
    const err = await errorOf(world.rekognition.send(new DeleteProjectCommand({ ProjectArn })));
    expect(err.name).toBe('ResourceNotFoundException');
  });

  test('project policies: put, update by revision, list with paginator, delete', async () => {
    const { ProjectArn } = await world.rekognition.send(new CreateProjectCommand({ ProjectName: 'shared' }));
    const first = await world.rekognition.send(new PutProjectPolicyCommand({ ProjectArn, PolicyName: 'p1', PolicyDocument: POLICY }));
    expect(first.PolicyRevisionId).toMatch(/^[0-9a-f]+$/);
    // a second put without the revision is refused, with a wrong one too
    expect((await errorOf(world.rekognition.send(new PutProjectPolicyCommand({ ProjectArn, PolicyName: 'p1', PolicyDocument: POLICY })))).name)
      .toBe('ResourceAlreadyExistsException');
    expect((await errorOf(world.rekognition.send(new PutProjectPolicyCommand({
      ProjectArn, PolicyName: 'p1', PolicyDocument: POLICY, PolicyRevisionId: 'abc',
    })))).name).toBe('InvalidPolicyRevisionIdException');
    const second = await world.rekognition.send(new PutProjectPolicyCommand({
      ProjectArn, PolicyName: 'p1', PolicyDocument: POLICY, PolicyRevisionId: first.PolicyRevisionId,
    }));
    expect(second.PolicyRevisionId).not.toBe(first.PolicyRevisionId);
    for (const name of ['p2', 'p3']) await world.rekognition.send(new PutProjectPolicyCommand({ ProjectArn, PolicyName: name, PolicyDocument: POLICY }));
    const names: string[] = [];
    for await (const page of paginateListProjectPolicies({ client: world.rekognition, pageSize: 2 }, { ProjectArn })) {
      names.push(...page.ProjectPolicies!.map((p) => p.PolicyName!));
    }
    expect(names).toEqual(['p1', 'p2', 'p3']);
    const err = await errorOf(world.rekognition.send(new PutProjectPolicyCommand({ ProjectArn, PolicyName: 'bad', PolicyDocument: '{not json' })));
    expect(err.name).toBe('MalformedPolicyDocumentException');
    await world.rekognition.send(new DeleteProjectPolicyCommand({ ProjectArn, PolicyName: 'p2' }));
    const listed = await world.rekognition.send(new ListProjectPoliciesCommand({ ProjectArn }));
    expect(listed.ProjectPolicies!.map((p) => p.PolicyName)).toEqual(['p1', 'p3']);
    expect(listed.ProjectPolicies![0].PolicyRevisionId).toBe(second.PolicyRevisionId);
  });

  test('tags: given at creation, added, removed and listed; aws: keys refused', async () => {
    const { ProjectArn } = await world.rekognition.send(new CreateProjectCommand({ ProjectName: 'tagged', Tags: { team: 'vision' } }));
    await world.rekognition.send(new TagResourceCommand({ ResourceArn: ProjectArn, Tags: { env: 'test', cost: 'lab' } }));
    await world.rekognition.send(new UntagResourceCommand({ ResourceArn: ProjectArn, TagKeys: ['cost'] }));
    const out = await world.rekognition.send(new ListTagsForResourceCommand({ ResourceArn: ProjectArn }));
    expect(out.Tags).toEqual({ team: 'vision', env: 'test' });
    const err = await errorOf(world.rekognition.send(new TagResourceCommand({ ResourceArn: ProjectArn, Tags: { 'aws:x': 'y' } })));
    expect(err.name).toBe('InvalidParameterException');
    expect(err.message).toContain("at 'Tags'");
    const missing = await errorOf(world.rekognition.send(new ListTagsForResourceCommand({ ResourceArn: `${ProjectArn}0` })));
    expect(missing.name).toBe('ResourceNotFoundException');
  });
});
