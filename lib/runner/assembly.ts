/**
 * Reads a CDK cloud assembly (`cdk.out`) with the CDK's own schema package (`@aws-cdk/cloud-assembly-schema`, as
 * `aws-cdk-lib/cloud-assembly-schema`, so the reader is the same version as the writer): the stacks, their templates,
 * file and Docker image assets, and where each resource comes from (its construct path). Nested assemblies (stages)
 * are read too. Nothing else of aws-cdk-lib is loaded.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import type * as cxschema from 'aws-cdk-lib/cloud-assembly-schema';

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

/** An asset the runner cannot publish (a Docker image, or a file built by a command): listed so that it is refused by name. */
export interface UnpublishableAsset {
  readonly id: string;
  readonly kind: 'docker-image' | 'executable';
  /** The construct path CDK gives the asset, e.g. `App/Fn/AssetImage`. */
  readonly displayName?: string;
  /** Strings a template refers to the asset by (the image tag, the object key). */
  readonly references: readonly string[];
}

/** A nested stack's template, found through the asset its parent's AWS::CloudFormation::Stack resource points at. */
export interface NestedTemplate {
  /** The AWS::CloudFormation::Stack resource's logical id in the parent template. */
  readonly logicalId: string;
  readonly templateFile: string;
  readonly template: CfnTemplate;
  /** Construct paths of the nested template's resources, by logical id. */
  readonly constructPaths: Readonly<Record<string, string>>;
  readonly nested: readonly NestedTemplate[];
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
  /** Assets the runner cannot publish (Docker images, files built by a command), with what they are called. */
  readonly unpublishableAssets: readonly UnpublishableAsset[];
  /** Construct paths of the template's resources, by logical id (from the artifact's metadata and `aws:cdk:path`). */
  readonly constructPaths: Readonly<Record<string, string>>;
  /** The nested stacks' templates (CDK NestedStack), each with its own nested ones. */
  readonly nested: readonly NestedTemplate[];
}

export interface CloudAssembly {
  readonly directory: string;
  readonly version: string;
  /** Stacks in deployment order (dependencies first), nested assemblies included. */
  readonly stacks: readonly AssemblyStack[];
}

/** Loads the schema package only when an assembly is read (it comes with aws-cdk-lib, a peer dependency). */
function schema(): typeof cxschema {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('aws-cdk-lib/cloud-assembly-schema') as typeof cxschema;
}

/** Reads `manifest.json` and everything it points to. */
export function readCloudAssembly(directory: string): CloudAssembly {
  const dir = path.resolve(directory);
  const manifestFile = path.join(dir, 'manifest.json');
  if (!fs.existsSync(manifestFile)) throw new Error(`Cannot read ${manifestFile}: is this a cloud assembly directory (cdk.out)?`);
  const { Manifest, ArtifactType, ArtifactMetadataEntryType } = schema();
  const manifest = Manifest.loadAssemblyManifest(manifestFile);
  const artifacts = manifest.artifacts ?? {};
  const stacks: AssemblyStack[] = [];
  const assetManifests = new Map<string, cxschema.AssetManifest>();
  for (const [id, artifact] of Object.entries(artifacts)) {
    if (artifact.type === ArtifactType.ASSET_MANIFEST) {
      const props = artifact.properties as cxschema.AssetManifestProperties;
      assetManifests.set(id, Manifest.loadAssetManifest(path.join(dir, props.file)));
    }
  }
  for (const [id, artifact] of Object.entries(artifacts)) {
    if (artifact.type === ArtifactType.NESTED_CLOUD_ASSEMBLY) {
      const props = artifact.properties as cxschema.NestedCloudAssemblyProperties;
      stacks.push(...readCloudAssembly(path.join(dir, props.directoryName)).stacks);
      continue;
    }
    if (artifact.type !== ArtifactType.AWS_CLOUDFORMATION_STACK) continue;
    const props = (artifact.properties ?? {}) as cxschema.AwsCloudFormationStackProperties;
    if (typeof props.templateFile !== 'string') throw new Error(`Artifact ${id} in manifest.json has no properties.templateFile`);
    const templateFile = path.join(dir, props.templateFile);
    const deps = artifact.dependencies ?? [];
    const fileAssets: FileAsset[] = [];
    const unpublishable: UnpublishableAsset[] = [];
    for (const dep of deps) {
      const assets = assetManifests.get(dep);
      if (!assets) continue;
      const read = readAssets(dir, assets, templateFile);
      fileAssets.push(...read.files);
      unpublishable.push(...read.unpublishable);
    }
    const metadata = { ...(artifact.metadata ?? {}), ...readMetadataFile(dir, artifact) };
    const template = readJson(templateFile) as CfnTemplate;
    const pathsByTemplate = constructPathsByTemplate(metadata, ArtifactMetadataEntryType.LOGICAL_ID, props.templateFile);
    stacks.push({
      artifactId: id,
      stackName: props.stackName ?? id,
      displayName: artifact.displayName ?? id,
      templateFile,
      template,
      environment: artifact.environment ?? 'aws://unknown-account/unknown-region',
      stackDependencies: deps.filter((d) => artifacts[d]?.type === ArtifactType.AWS_CLOUDFORMATION_STACK),
      parameters: stringMap(props.parameters),
      tags: stringMap(props.tags),
      fileAssets,
      dockerImageAssets: unpublishable.filter((a) => a.kind === 'docker-image').map((a) => a.id),
      unpublishableAssets: unpublishable,
      constructPaths: withCdkPaths(template, pathsByTemplate.get(props.templateFile) ?? {}),
      nested: nestedTemplates(dir, template, fileAssets, pathsByTemplate),
    });
  }
  return { directory: dir, version: manifest.version, stacks: orderStacks(stacks) };
}

/** The artifact's metadata kept in a separate file (`additionalMetadataFile`, newer CDK versions). */
function readMetadataFile(dir: string, artifact: cxschema.ArtifactManifest): Record<string, cxschema.MetadataEntry[]> {
  const file = (artifact as { additionalMetadataFile?: string }).additionalMetadataFile;
  if (!file) return {};
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as Record<string, cxschema.MetadataEntry[]>;
  } catch {
    return {};
  }
}

/**
 * Construct paths by logical id, per template file: a `aws:cdk:logicalId` entry belongs to the template of the deepest
 * construct above it that names a template file (`aws:cdk:templateFile`: the stack, or a nested stack).
 */
function constructPathsByTemplate(metadata: Record<string, cxschema.MetadataEntry[]>, logicalIdType: string, stackTemplate: string)
  : Map<string, Record<string, string>> {
  const templates: { prefix: string; file: string }[] = [];
  for (const [p, entries] of Object.entries(metadata)) {
    for (const e of entries) if (e.type === 'aws:cdk:templateFile' && typeof e.data === 'string') templates.push({ prefix: p, file: e.data });
  }
  templates.sort((a, b) => b.prefix.length - a.prefix.length);
  const out = new Map<string, Record<string, string>>();
  for (const [p, entries] of Object.entries(metadata)) {
    for (const e of entries) {
      if (e.type !== logicalIdType || typeof e.data !== 'string') continue;
      const owner = templates.find((t) => p.startsWith(`${t.prefix}/`))?.file ?? stackTemplate;
      const paths = out.get(owner) ?? {};
      paths[e.data] = p.replace(/^\//, '');
      out.set(owner, paths);
    }
  }
  return out;
}

/** `Metadata.aws:cdk:path` of the template's resources (set when the CDK CLI synthesizes) wins over the artifact's metadata. */
function withCdkPaths(template: CfnTemplate, fromMetadata: Readonly<Record<string, string>>): Record<string, string> {
  const paths = { ...fromMetadata };
  for (const [id, r] of Object.entries(template.Resources ?? {})) {
    const p = r.Metadata?.['aws:cdk:path'];
    if (typeof p === 'string') paths[id] = p;
  }
  return paths;
}

/** Nested stacks: each AWS::CloudFormation::Stack whose TemplateURL names a file asset's object key. */
function nestedTemplates(dir: string, template: CfnTemplate, assets: readonly FileAsset[], pathsByTemplate: Map<string, Record<string, string>>)
  : NestedTemplate[] {
  const out: NestedTemplate[] = [];
  for (const [logicalId, r] of Object.entries(template.Resources ?? {})) {
    if (r.Type !== 'AWS::CloudFormation::Stack') continue;
    const url = JSON.stringify(r.Properties?.TemplateURL ?? '');
    const asset = assets.find((a) => !a.isTemplate && a.destinations.some((d) => url.includes(resolveAssetPlaceholders(d.objectKey))));
    if (!asset || !fs.existsSync(asset.sourcePath) || fs.statSync(asset.sourcePath).isDirectory()) continue;
    const nestedTemplate = readJson(asset.sourcePath) as CfnTemplate;
    const file = path.relative(dir, asset.sourcePath);
    out.push({
      logicalId,
      templateFile: asset.sourcePath,
      template: nestedTemplate,
      constructPaths: withCdkPaths(nestedTemplate, pathsByTemplate.get(file) ?? {}),
      nested: nestedTemplates(dir, nestedTemplate, assets, pathsByTemplate),
    });
  }
  return out;
}

function readAssets(dir: string, manifest: cxschema.AssetManifest, templateFile: string)
  : { files: FileAsset[]; unpublishable: UnpublishableAsset[] } {
  const files: FileAsset[] = [];
  const unpublishable: UnpublishableAsset[] = [];
  for (const [id, entry] of Object.entries(manifest.files ?? {})) {
    const displayName = (entry as { displayName?: string }).displayName;
    const destinations = Object.entries(entry.destinations).map(([destId, d]) => ({
      id: destId, bucketName: d.bucketName, objectKey: d.objectKey, region: d.region,
    }));
    if (typeof entry.source.path !== 'string') {
      unpublishable.push({ id, kind: 'executable', displayName, references: destinations.map((d) => d.objectKey) });
      continue;
    }
    const packaging = entry.source.packaging ?? 'file';
    if (packaging !== 'zip' && packaging !== 'file') throw new Error(`Asset ${id} has unknown packaging ${JSON.stringify(packaging)}`);
    const sourcePath = path.join(dir, entry.source.path);
    files.push({ id, displayName, sourcePath, packaging, destinations, isTemplate: path.resolve(sourcePath) === path.resolve(templateFile) });
  }
  for (const [id, entry] of Object.entries(manifest.dockerImages ?? {})) {
    const displayName = (entry as { displayName?: string }).displayName;
    unpublishable.push({ id, kind: 'docker-image', displayName, references: [id, ...Object.values(entry.destinations).map((d) => d.imageTag)] });
  }
  return { files, unpublishable };
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

function stringMap(value: unknown): Record<string, string> {
  if (!isRecord(value)) return {};
  return Object.fromEntries(Object.entries(value).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
