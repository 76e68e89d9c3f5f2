/**
 * Reads a CDK cloud assembly (`cdk.out`) from its JSON files: the stacks, their templates and their file assets.
 * No aws-cdk-lib import, so the runner works on any app's output.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { OFFLINE_ACCOUNT_ID, OFFLINE_PARTITION, OFFLINE_REGION } from './intrinsics';
import { CfnTemplate } from './template';
import { zipDirectory } from './zip';

export interface AssetDestination {
  readonly id: string;
  /** May hold `${AWS::AccountId}`, `${AWS::Region}`, `${AWS::Partition}`: see `resolveAssetPlaceholders`. */
  readonly bucketName: string;
  readonly objectKey: string;
  readonly region?: string;
}

export interface FileAsset {
  readonly id: string;
  readonly displayName?: string;
  /** Absolute path of the file or directory in the assembly. */
  readonly sourcePath: string;
  /** 'zip': a directory to zip (or an archive to upload as is); 'file': uploaded as is. */
  readonly packaging: 'zip' | 'file';
  readonly destinations: readonly AssetDestination[];
  /** The stack template itself (CDK publishes it as an asset too; a local deploy does not need it). */
  readonly isTemplate: boolean;
}

export interface AssemblyStack {
  /** The artifact id in manifest.json (the construct path for nested stages). */
  readonly artifactId: string;
  /** The CloudFormation stack name (may differ from the artifact id). */
  readonly stackName: string;
  readonly displayName: string;
  readonly templateFile: string;
  readonly template: CfnTemplate;
  /** `aws://account/region`, as synthesized (`unknown-account`/`unknown-region` for environment-agnostic stacks). */
  readonly environment: string;
  /** Artifact ids of the stacks this one must follow. */
  readonly stackDependencies: readonly string[];
  /** Parameter values fixed at synth time (manifest `properties.parameters`). */
  readonly parameters: Readonly<Record<string, string>>;
  readonly tags: Readonly<Record<string, string>>;
  readonly fileAssets: readonly FileAsset[];
  /** Docker image assets cannot be published offline; their ids are listed so the runner can refuse clearly. */
  readonly dockerImageAssets: readonly string[];
}

export interface CloudAssembly {
  readonly directory: string;
  readonly version: string;
  /** Stacks in deployment order (dependencies first), nested assemblies included. */
  readonly stacks: readonly AssemblyStack[];
}

interface ManifestArtifact {
  readonly type: string;
  readonly environment?: string;
  readonly dependencies?: string[];
  readonly displayName?: string;
  readonly properties?: Record<string, unknown>;
}

/** Reads `manifest.json` and everything it points to. */
export function readCloudAssembly(directory: string): CloudAssembly {
  const dir = path.resolve(directory);
  const manifest = readJson(path.join(dir, 'manifest.json'));
  const artifacts = (isRecord(manifest.artifacts) ? manifest.artifacts : {}) as Record<string, ManifestArtifact>;
  const stacks: AssemblyStack[] = [];
  const assetManifests = new Map<string, Record<string, unknown>>();
  for (const [id, artifact] of Object.entries(artifacts)) {
    if (artifact.type === 'cdk:asset-manifest') {
      assetManifests.set(id, readJson(path.join(dir, stringProp(artifact, 'file', id))));
    }
  }
  for (const [id, artifact] of Object.entries(artifacts)) {
    if (artifact.type === 'cdk:cloud-assembly') {
      stacks.push(...readCloudAssembly(path.join(dir, stringProp(artifact, 'directoryName', id))).stacks);
      continue;
    }
    if (artifact.type !== 'aws:cloudformation:stack') continue;
    const templateFile = path.join(dir, stringProp(artifact, 'templateFile', id));
    const deps = artifact.dependencies ?? [];
    const fileAssets: FileAsset[] = [];
    const dockerImageAssets: string[] = [];
    for (const dep of deps) {
      const assets = assetManifests.get(dep);
      if (!assets) continue;
      fileAssets.push(...readFileAssets(dir, assets, templateFile));
      dockerImageAssets.push(...Object.keys(isRecord(assets.dockerImages) ? assets.dockerImages : {}));
    }
    const props = artifact.properties ?? {};
    stacks.push({
      artifactId: id,
      stackName: typeof props.stackName === 'string' ? props.stackName : id,
      displayName: artifact.displayName ?? id,
      templateFile,
      template: readJson(templateFile) as CfnTemplate,
      environment: artifact.environment ?? 'aws://unknown-account/unknown-region',
      stackDependencies: deps.filter((d) => artifacts[d]?.type === 'aws:cloudformation:stack'),
      parameters: stringMap(props.parameters),
      tags: stringMap(props.tags),
      fileAssets,
      dockerImageAssets,
    });
  }
  return { directory: dir, version: String(manifest.version ?? ''), stacks: orderStacks(stacks) };
}

function readFileAssets(dir: string, manifest: Record<string, unknown>, templateFile: string): FileAsset[] {
  const files = isRecord(manifest.files) ? manifest.files : {};
  return Object.entries(files).map(([id, raw]) => {
    const entry = isRecord(raw) ? raw : {};
    const source = isRecord(entry.source) ? entry.source : {};
    if (typeof source.path !== 'string') {
      throw new Error(`Asset ${id} has no source.path (assets built by executables are not supported offline)`);
    }
    const packaging = source.packaging ?? 'file';
    if (packaging !== 'zip' && packaging !== 'file') throw new Error(`Asset ${id} has unknown packaging ${JSON.stringify(packaging)}`);
    const sourcePath = path.join(dir, source.path);
    const destinations = Object.entries(isRecord(entry.destinations) ? entry.destinations : {}).map(([destId, d]) => {
      const dest = isRecord(d) ? d : {};
      if (typeof dest.bucketName !== 'string' || typeof dest.objectKey !== 'string') {
        throw new Error(`Asset ${id} destination ${destId} needs bucketName and objectKey`);
      }
      const region = typeof dest.region === 'string' ? dest.region : undefined;
      return { id: destId, bucketName: dest.bucketName, objectKey: dest.objectKey, region };
    });
    return {
      id,
      displayName: typeof entry.displayName === 'string' ? entry.displayName : undefined,
      sourcePath,
      packaging,
      destinations,
      isTemplate: path.resolve(sourcePath) === path.resolve(templateFile),
    };
  });
}

function orderStacks(stacks: AssemblyStack[]): AssemblyStack[] {
  const byId = new Map(stacks.map((s) => [s.artifactId, s]));
  const ordered: AssemblyStack[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (s: AssemblyStack): void => {
    if (state.get(s.artifactId) === 'done') return;
    if (state.get(s.artifactId) === 'visiting') throw new Error(`Circular dependency between stacks at ${s.artifactId}`);
    state.set(s.artifactId, 'visiting');
    for (const d of s.stackDependencies) {
      const dep = byId.get(d);
      if (dep) visit(dep);
    }
    state.set(s.artifactId, 'done');
    ordered.push(s);
  };
  stacks.forEach(visit);
  return ordered;
}

export interface AssetEnvironment {
  /** @default OFFLINE_ACCOUNT_ID */
  readonly accountId?: string;
  /** @default OFFLINE_REGION */
  readonly region?: string;
  /** @default OFFLINE_PARTITION */
  readonly partition?: string;
}

/** Replaces the `${AWS::AccountId}`, `${AWS::Region}` and `${AWS::Partition}` placeholders of an asset destination. */
export function resolveAssetPlaceholders(text: string, env: AssetEnvironment = {}): string {
  return text
    .replace(/\$\{AWS::AccountId\}/g, env.accountId ?? OFFLINE_ACCOUNT_ID)
    .replace(/\$\{AWS::Region\}/g, env.region ?? OFFLINE_REGION)
    .replace(/\$\{AWS::Partition\}/g, env.partition ?? OFFLINE_PARTITION);
}

export interface AssetUpload {
  readonly assetId: string;
  readonly bucketName: string;
  readonly objectKey: string;
  readonly body: Buffer;
}

/**
 * The bytes to upload for an asset: a directory with 'zip' packaging is zipped; a file (already an archive, or 'file'
 * packaging) is uploaded as is. CDK synth leaves directory assets as `asset.<hash>/` folders, so zipping happens here.
 */
export function assetBytes(asset: FileAsset): Buffer {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(asset.sourcePath);
  } catch {
    throw new Error(`Asset ${asset.id} (${asset.displayName ?? 'no name'}): ${asset.sourcePath} does not exist`);
  }
  if (stat.isDirectory()) {
    if (asset.packaging !== 'zip') throw new Error(`Asset ${asset.id}: ${asset.sourcePath} is a directory but its packaging is 'file'`);
    return zipDirectory(asset.sourcePath);
  }
  return fs.readFileSync(asset.sourcePath);
}

/** Every upload a stack's file assets need, placeholders resolved; the template asset is left out unless asked for. */
export function assetUploads(stack: AssemblyStack, env: AssetEnvironment = {}, includeTemplate = false): AssetUpload[] {
  const uploads: AssetUpload[] = [];
  for (const asset of stack.fileAssets) {
    if (asset.isTemplate && !includeTemplate) continue;
    const body = assetBytes(asset);
    for (const d of asset.destinations) {
      uploads.push({
        assetId: asset.id,
        bucketName: resolveAssetPlaceholders(d.bucketName, env),
        objectKey: resolveAssetPlaceholders(d.objectKey, env),
        body,
      });
    }
  }
  return uploads;
}

function readJson(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new Error(`Cannot read ${file}: is this a cloud assembly directory (cdk.out)?`);
  }
  const value: unknown = JSON.parse(text);
  if (!isRecord(value)) throw new Error(`${file} does not hold a JSON object`);
  return value;
}

function stringProp(artifact: ManifestArtifact, name: string, id: string): string {
  const v = artifact.properties?.[name];
  if (typeof v !== 'string') throw new Error(`Artifact ${id} in manifest.json has no properties.${name}`);
  return v;
}

function stringMap(value: unknown): Record<string, string> {
  if (!isRecord(value)) return {};
  return Object.fromEntries(Object.entries(value).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
