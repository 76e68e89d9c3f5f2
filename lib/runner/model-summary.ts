/**
 * What a deploy left for each model (each Custom::CustomLabelsModelVersion of the deployed stacks): the version it
 * trained or adopted, its ARN and F1, whether it serves (the serving parameter names it) and runs, how long its last
 * workflow run took in virtual time, and what the emulator's meter says its versions cost.
 */
import { MODEL_VERSION_RESOURCE_TYPE, ModelVersionConfig } from '../model/contracts';
import { RunnerContext } from './runner-context';

export interface ModelSummary {
  readonly stackName: string;
  /** The model's construct path (its custom resource's logical id when the path is unknown). */
  readonly model: string;
  readonly projectName: string;
  readonly versionName: string;
  readonly versionArn?: string;
  /** The version's status in the emulator (RUNNING, STOPPED, TRAINING_COMPLETED, ...). */
  readonly status?: string;
  /** The evaluation's overall F1 score. */
  readonly f1?: number;
  /** The serving-version parameter names this version. */
  readonly serving: boolean;
  /** The version runs (and bills by the inference-unit hour). */
  readonly running: boolean;
  /** Virtual seconds of the model's last workflow run (this session's). */
  readonly workflowSeconds?: number;
  /** Training and inference-unit time of this model's versions so far, in dollars at us-east-1 prices. */
  readonly dollars: number;
}

export async function modelSummaries(ctx: RunnerContext): Promise<ModelSummary[]> {
  const usage = ctx.cloud.usage();
  const summaries: ModelSummary[] = [];
  for (const { stackName, logicalId, record } of ctx.world.allResources()) {
    if (record.type !== MODEL_VERSION_RESOURCE_TYPE) continue;
    let config: Partial<ModelVersionConfig> = {};
    try {
      config = JSON.parse(String(record.properties.Config ?? '{}')) as Partial<ModelVersionConfig>;
    } catch {
      // Not our contract: summarize what there is.
    }
    const versionName = String(record.attributes.VersionName ?? '');
    const projectArn = config.projectArn ?? '';
    const described = projectArn && versionName
      ? (await ctx.rekognition.describeProjectVersions({ ProjectArn: projectArn, VersionNames: [versionName] }).catch(() => undefined))
        ?.ProjectVersionDescriptions?.[0]
      : undefined;
    const versionArn = described?.ProjectVersionArn;
    const servingParameter = config.servingParameterName;
    const servingValue = servingParameter ? ctx.runtime.parameters.get(servingParameter)?.value : undefined;
    const execution = ctx.runtime.sfn.list().filter((e) => e.executionArn === record.attributes.ExecutionArn).pop();
    const ownVersions = usage.versions.filter((v) => projectArn !== '' && v.projectVersionArn.startsWith(`${projectArn.replace(/\/\d+$/, '')}/version/`)
      && v.projectVersionArn.includes(`/version/${config.versionPrefix ?? ''}`));
    const dollars = ownVersions.reduce((sum, v) => sum + v.trainingSeconds / 3600 + 4 * v.inferenceUnitSeconds / 3600, 0);
    summaries.push({
      stackName,
      model: config.modelPath ?? logicalId,
      projectName: config.projectName ?? '',
      versionName,
      ...(versionArn ? { versionArn } : {}),
      ...(described?.Status ? { status: described.Status } : {}),
      ...(described?.EvaluationResult?.F1Score !== undefined ? { f1: described.EvaluationResult.F1Score } : {}),
      serving: versionArn !== undefined && servingValue === versionArn,
      running: described?.Status === 'RUNNING',
      ...(execution?.stopDate !== undefined ? { workflowSeconds: (execution.stopDate - execution.startDate) / 1000 } : {}),
      dollars: Math.round(dollars * 100) / 100,
    });
  }
  return summaries;
}
