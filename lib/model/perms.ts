// IAM action lists of the model workflow, by who needs them. Resource types per the Service Authorization Reference.

/** The state machine, on the project's datasets (resource: dataset) and the project (CreateDataset: project). */
export const WORKFLOW_DATASET_ACTIONS = ['rekognition:CreateDataset', 'rekognition:DeleteDataset', 'rekognition:DescribeDataset',
  'rekognition:DistributeDatasetEntries'];
/** The state machine, on the project and its versions. */
export const WORKFLOW_VERSION_ACTIONS = ['rekognition:CreateProjectVersion', 'rekognition:DescribeProjectVersions',
  'rekognition:StartProjectVersion', 'rekognition:StopProjectVersion', 'rekognition:TagResource'];
/** The prepare handler's probe, on the project (DescribeProjects supports no resource-level permissions: "*"). */
export const PROBE_ACTIONS = ['rekognition:DescribeProjectVersions'];
export const DESCRIBE_PROJECTS_ACTIONS = ['rekognition:DescribeProjects'];
/** The prepare handler, on a dataset the data is copied from. */
export const DATASET_COPY_ACTIONS = ['rekognition:ListDatasetEntries', 'rekognition:DescribeDataset'];
/** The gate handler, on the project's versions. */
export const GATE_ACTIONS = ['rekognition:DescribeProjectVersions'];
/** The model-version handler, on the project and its versions. */
export const MODEL_VERSION_ACTIONS = ['rekognition:DescribeProjectVersions', 'rekognition:StopProjectVersion', 'rekognition:DeleteProjectVersion'];
/** Inference on the model's versions. */
export const DETECT_ACTIONS = ['rekognition:DetectCustomLabels'];
/** Starting and stopping the model's versions (plus reading their status). */
export const START_STOP_ACTIONS = ['rekognition:StartProjectVersion', 'rekognition:StopProjectVersion'];
/**
 * Rekognition reads manifests and images, and writes training output, with the rights of the principal that calls
 * CreateDataset and CreateProjectVersion (reference §9a): the workflow's role. The actions are those the AWS managed
 * policy AmazonRekognitionCustomLabelsFullAccess grants for this, narrowed to our buckets and prefixes.
 */
export const CALLER_READ_ACTIONS = ['s3:GetObject', 's3:GetObjectVersion', 's3:GetObjectTagging', 's3:GetObjectAcl'];
export const CALLER_BUCKET_ACTIONS = ['s3:GetBucketAcl', 's3:GetBucketLocation', 's3:ListBucket'];
export const CALLER_WRITE_ACTIONS = ['s3:PutObject'];
