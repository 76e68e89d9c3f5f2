import { createHash } from 'node:crypto';

import { Caller } from '../../iam/world';
import { DURATIONS, EmulatorCore, seconds } from './core';
import { inUse, invalidParameter, ServiceError } from './errors';
import { paginate } from './pagination';
import { checkTagKey, Params, RULES } from './params';
import { DatasetRecord, ProjectRecord } from './state';

/** Who made the request: the resolved caller, when the offline world restricts it (see lib/iam). */
export interface CallContext {
  readonly caller?: Caller;
}

export type Handler = (core: EmulatorCore, p: Params, ctx: CallContext) => unknown;

export function datasetMetadata(d: DatasetRecord): Record<string, unknown> {
  return {
    CreationTimestamp: seconds(d.createdAt),
    DatasetType: d.type,
    DatasetArn: d.arn,
    Status: d.status,
    StatusMessage: d.statusMessage,
    StatusMessageCode: d.statusMessageCode,
  };
}

function describeProject(core: EmulatorCore, project: ProjectRecord): Record<string, unknown> {
  const datasets = (['TRAIN', 'TEST'] as const)
    .map((t) => project.datasets[t])
    .filter((arn): arn is string => arn !== undefined && core.state.datasets[arn] !== undefined)
    .map((arn) => datasetMetadata(core.state.datasets[arn]));
  return {
    ProjectArn: project.arn,
    CreationTimestamp: seconds(project.createdAt),
    Status: project.status,
    Datasets: datasets,
    Feature: project.feature,
    AutoUpdate: project.autoUpdate,
  };
}

const createProject: Handler = (core, p) => {
  const name = p.str('ProjectName', { ...RULES.projectName, required: true });
  const feature = p.str('Feature', { values: ['CUSTOM_LABELS', 'CONTENT_MODERATION'] }) ?? 'CUSTOM_LABELS';
  const autoUpdate = p.str('AutoUpdate', { values: ['ENABLED', 'DISABLED'] });
  const tags = p.tags('Tags') ?? {};
  if (autoUpdate !== undefined && feature === 'CUSTOM_LABELS') {
    throw invalidParameter('AutoUpdate applies only to projects with the CONTENT_MODERATION feature.');
  }
  if (core.state.projects.some((x) => x.name === name)) {
    throw inUse(`The project ${name} already exists.`);
  }
  const { ms, arn } = core.uniqueStamp(
    (t) => `${core.arnPrefix()}:project/${name}/${t}`,
    (a) => core.state.projects.some((x) => x.arn === a),
  );
  core.state.projects.push({
    arn, name, createdAt: ms, status: 'CREATED', feature,
    autoUpdate: feature === 'CONTENT_MODERATION' ? autoUpdate ?? 'DISABLED' : undefined, tags, datasets: {}, policies: [],
  });
  return { ProjectArn: arn };
};

const describeProjects: Handler = (core, p) => {
  const names = p.strList('ProjectNames', { min: 1, max: 10 }, RULES.projectName);
  const features = p.strList('Features', { min: 1, max: 2 }, { values: ['CUSTOM_LABELS', 'CONTENT_MODERATION'] }) ?? ['CUSTOM_LABELS'];
  const matching = core.state.projects
    .filter((x) => (names === undefined || names.includes(x.name)) && features.includes(x.feature))
    .sort((a, b) => a.createdAt - b.createdAt);
  const { page, nextToken } = paginate(matching, p, 'DescribeProjects', { names, features });
  return { ProjectDescriptions: page.map((x) => describeProject(core, x)), NextToken: nextToken };
};

const deleteProject: Handler = (core, p) => {
  const project = core.project(p.str('ProjectArn', { ...RULES.projectArn, required: true }));
  if (project.status === 'DELETING') return { Status: 'DELETING' };
  const versions = Object.values(core.state.versions).filter((v) => v.projectArn === project.arn);
  const datasets = Object.values(core.state.datasets).filter((d) => d.projectArn === project.arn);
  if (versions.length > 0 || datasets.length > 0) {
    // [inferred] the guide says every model and dataset must be deleted first; the mapping to ResourceInUse is ours.
    throw inUse(`The project ${project.arn} still has ${versions.length} model version(s) and ${datasets.length} dataset(s); delete them first.`);
  }
  project.status = 'DELETING';
  project.policies = [];
  core.startJob('deleteProject', project.arn, DURATIONS.deleteMs, () => ({ durationMs: DURATIONS.deleteMs, ok: true }));
  return { Status: 'DELETING' };
};

function revisionId(core: EmulatorCore, seed: string): string {
  return createHash('md5').update(`${seed}\n${core.clock.now()}\n${Math.random()}`).digest('hex');
}

function checkPolicyDocument(document: string): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(document);
  } catch {
    throw new ServiceError('MalformedPolicyDocumentException', 'The policy document is not valid JSON.');
  }
  const statements = (parsed as { Statement?: unknown } | null)?.Statement;
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || statements === undefined) {
    throw new ServiceError('MalformedPolicyDocumentException', 'The policy document must be a JSON object with a Statement.');
  }
}

const MAX_POLICIES = 5;

const putProjectPolicy: Handler = (core, p) => {
  const projectArn = p.str('ProjectArn', { ...RULES.projectArn, required: true });
  const name = p.str('PolicyName', { ...RULES.policyName, required: true });
  const revision = p.str('PolicyRevisionId', RULES.policyRevisionId);
  const document = p.str('PolicyDocument', { ...RULES.policyDocument, required: true });
  const project = core.project(projectArn);
  checkPolicyDocument(document);
  const existing = project.policies.find((x) => x.name === name);
  const now = core.clock.now();
  const newRevision = revisionId(core, `${project.arn}/${name}`);
  if (existing) {
    if (revision === undefined) {
      throw new ServiceError('ResourceAlreadyExistsException', `The policy ${name} already exists; pass its PolicyRevisionId to update it.`);
    }
    if (revision !== existing.revisionId) {
      throw new ServiceError('InvalidPolicyRevisionIdException', `The revision ${revision} is not the current revision of policy ${name}.`);
    }
    Object.assign(existing, { document, revisionId: newRevision, updatedAt: now });
  } else {
    if (revision !== undefined) {
      throw new ServiceError('InvalidPolicyRevisionIdException', `The policy ${name} does not exist, so it has no revision ${revision}.`);
    }
    if (project.policies.length >= MAX_POLICIES) {
      throw new ServiceError('ServiceQuotaExceededException', `A project can have at most ${MAX_POLICIES} project policies.`);
    }
    project.policies.push({ name, revisionId: newRevision, document, createdAt: now, updatedAt: now });
  }
  return { PolicyRevisionId: newRevision };
};

const listProjectPolicies: Handler = (core, p) => {
  const project = core.project(p.str('ProjectArn', { ...RULES.projectArn, required: true }));
  const { page, nextToken } = paginate(project.policies, p, 'ListProjectPolicies', project.arn, 5);
  return {
    ProjectPolicies: page.map((x) => ({
      ProjectArn: project.arn, PolicyName: x.name, PolicyRevisionId: x.revisionId, PolicyDocument: x.document,
      CreationTimestamp: seconds(x.createdAt), LastUpdatedTimestamp: seconds(x.updatedAt),
    })),
    NextToken: nextToken,
  };
};

const deleteProjectPolicy: Handler = (core, p) => {
  const projectArn = p.str('ProjectArn', { ...RULES.projectArn, required: true });
  const name = p.str('PolicyName', { ...RULES.policyName, required: true });
  const revision = p.str('PolicyRevisionId', RULES.policyRevisionId);
  const project = core.project(projectArn);
  const existing = project.policies.find((x) => x.name === name);
  if (!existing) throw new ServiceError('ResourceNotFoundException', `The policy ${name} was not found in project ${project.arn}.`);
  if (revision !== undefined && revision !== existing.revisionId) {
    throw new ServiceError('InvalidPolicyRevisionIdException', `The revision ${revision} is not the current revision of policy ${name}.`);
  }
  project.policies = project.policies.filter((x) => x !== existing);
  return {};
};

const tagResource: Handler = (core, p) => {
  const arn = p.str('ResourceArn', { ...RULES.resourceArn, required: true });
  const tags = p.tags('Tags') ?? p.fail('Tags', null, 'not be null');
  const resource = core.taggable(arn);
  const merged = { ...resource.tags, ...tags };
  if (Object.keys(merged).length > 200) throw new ServiceError('ServiceQuotaExceededException', 'A resource can have at most 200 tags.');
  resource.tags = merged;
  return {};
};

const untagResource: Handler = (core, p) => {
  const arn = p.str('ResourceArn', { ...RULES.resourceArn, required: true });
  const keys = p.list('TagKeys', { required: true, min: 0, max: 200 }) ?? [];
  keys.forEach((k, i) => {
    if (typeof k !== 'string') return p.fail(`TagKeys.${i + 1}`, k, 'be a string');
    checkTagKey(k, `TagKeys.${i + 1}`);
  });
  const resource = core.taggable(arn);
  resource.tags = Object.fromEntries(Object.entries(resource.tags).filter(([k]) => !keys.includes(k)));
  return {};
};

const listTagsForResource: Handler = (core, p) => {
  const resource = core.taggable(p.str('ResourceArn', { ...RULES.resourceArn, required: true }));
  return { Tags: { ...resource.tags } };
};

export const PROJECT_HANDLERS: Record<string, Handler> = {
  CreateProject: createProject,
  DescribeProjects: describeProjects,
  DeleteProject: deleteProject,
  PutProjectPolicy: putProjectPolicy,
  ListProjectPolicies: listProjectPolicies,
  DeleteProjectPolicy: deleteProjectPolicy,
  TagResource: tagResource,
  UntagResource: untagResource,
  ListTagsForResource: listTagsForResource,
};
