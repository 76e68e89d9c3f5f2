// The converters' public API (helpers such as the line writer stay internal).
export { cocoToManifestLines, convertCoco } from './coco';
export type { ConvertLabelCount, ConvertOptions, ConvertSource, ConvertSummary } from './common';
export { ConvertError } from './common';
export type { CsvConvertOptions } from './csv';
export { convertCsv, CsvParser, csvToManifestLines, parseCsv } from './csv';
export { convertFolders, foldersToManifestLines, IMAGE_EXTENSIONS } from './folders';
export { convertGroundTruthMultiLabel, groundTruthMultiLabelToManifestLines, MULTILABEL_TYPE } from './gt-multilabel';
