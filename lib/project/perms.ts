// IAM action lists of CustomLabelsProject, by what a grantee needs them for.
// Resource types per the Service Authorization Reference for Amazon Rekognition.

/** Run inference on a model version (resource: projectversion). */
export const DETECT_ACTIONS = ['rekognition:DetectCustomLabels'];

/** Read the project and its versions (resource: project). */
export const PROJECT_READ_ACTIONS = ['rekognition:DescribeProjectVersions', 'rekognition:ListProjectPolicies'];

/** Read the datasets (resource: dataset). */
export const DATASET_READ_ACTIONS = ['rekognition:DescribeDataset', 'rekognition:ListDatasetEntries', 'rekognition:ListDatasetLabels'];

/** Read tags (resources: project, dataset, projectversion). */
export const TAG_READ_ACTIONS = ['rekognition:ListTagsForResource'];

/** DescribeProjects supports no resource-level permissions: it can only be granted on "*". */
export const LIST_PROJECTS_ACTIONS = ['rekognition:DescribeProjects'];

/** Start and stop model versions (resource: projectversion). */
export const VERSION_START_STOP_ACTIONS = ['rekognition:StartProjectVersion', 'rekognition:StopProjectVersion'];

/** What the teardown handler calls on the project (resource: project). */
export const TEARDOWN_PROJECT_ACTIONS = ['rekognition:DescribeProjectVersions'];
/** What the teardown handler calls on versions (resource: projectversion). */
export const TEARDOWN_VERSION_ACTIONS = ['rekognition:StopProjectVersion', 'rekognition:DeleteProjectVersion'];
/** What the teardown handler calls on datasets (resource: dataset). */
export const TEARDOWN_DATASET_ACTIONS = ['rekognition:DeleteDataset'];
