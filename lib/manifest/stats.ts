/**
 * Label statistics of a training manifest (and its testing manifest), with guidance on what to add.
 */
import { ManifestInput } from './reader';
import { MANIFEST_LIMITS, UseCase } from './types';
import { ManifestValidation, validateManifest } from './validator';

export interface LabelStats {
  label: string;
  /** Valid training lines with the label. */
  images: number;
  /** Valid training boxes of the label. */
  boxes: number;
  /** Set when a testing manifest was given. */
  testImages?: number;
  testBoxes?: number;
}

export interface ManifestStats {
  /** The training manifest's use case. */
  useCase: UseCase;
  /** Of the training manifest. */
  totalLines: number;
  validLines: number;
  /** Sorted by label name; labels of the testing manifest only are included with images 0. */
  labels: LabelStats[];
  /** Advice in plain words; empty when there is nothing to say. */
  guidance: string[];
}

export async function manifestStats(training: ManifestInput, testing?: ManifestInput): Promise<ManifestStats> {
  const train = await validateManifest(training, { role: 'training' });
  const test = testing === undefined ? undefined : await validateManifest(testing, { role: 'testing' });
  return statsOf(train, test);
}

/** Stats from validations already made (e.g. by the CLI, which validated first). */
export function statsOf(train: ManifestValidation, test?: ManifestValidation): ManifestStats {
  const names = new Set([...Object.keys(train.labels), ...Object.keys(test?.labels ?? {})]);
  const labels: LabelStats[] = [...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).map((label) => {
    const t = train.labels[label];
    const s: LabelStats = { label, images: t?.images ?? 0, boxes: t?.boxes ?? 0 };
    if (test) {
      s.testImages = test.labels[label]?.images ?? 0;
      s.testBoxes = test.labels[label]?.boxes ?? 0;
    }
    return s;
  });

  const guidance: string[] = [];
  const min = MANIFEST_LIMITS.recommendedImagesPerLabel;
  if (train.useCase === 'NOT_DETERMINED') {
    guidance.push('The training manifest has no valid labeled line: run validate to see why.');
  }
  if (train.invalidLines > 0) {
    guidance.push(`${train.invalidLines} training line(s) are invalid and will not be used: run validate to see why.`);
  }
  if (train.useCase === 'IMAGE_LEVEL_LABELS' && Object.keys(train.labels).length < MANIFEST_LIMITS.minLabelsClassification) {
    guidance.push(`Image classification needs at least ${MANIFEST_LIMITS.minLabelsClassification} labels; add images of another class.`);
  }
  if (train.otherFormatLines > 0) {
    guidance.push(`${train.otherFormatLines} valid line(s) use the other format than ${train.useCase} and will be ignored.`);
  }
  for (const s of labels) {
    if (s.images === 0) {
      guidance.push(`Label "${s.label}" is in the testing manifest only; the model cannot learn it.`);
    } else if (s.images < min) {
      guidance.push(`Label "${s.label}" has ${s.images} training image(s); at least ${min} are recommended.`);
    }
    if (test && s.images > 0 && (s.testImages ?? 0) < min) {
      guidance.push(`Label "${s.label}" has ${s.testImages} testing image(s); at least ${min} are recommended.`);
    }
  }
  if (!test && train.validLines > 0) {
    guidance.push('No testing manifest: a test set can be split off the training data (Rekognition\'s own distribution moves 20%), '
      + `so each label needs enough images for both (at least ${2 * min} recommended).`);
    for (const s of labels) {
      // A label with a single image cannot be in both halves of a split.
      if (s.images === 1) guidance.push(`Label "${s.label}" has one image: a split leaves it out of one of the two sets.`);
    }
  }
  return { useCase: train.useCase, totalLines: train.totalLines, validLines: train.validLines, labels, guidance };
}

export function formatStatsText(stats: ManifestStats): string {
  const detection = stats.useCase === 'OBJECT_LOCALIZATION';
  const withTest = stats.labels.some((l) => l.testImages !== undefined);
  const header = ['label', 'images', ...(detection ? ['boxes'] : []), ...(withTest ? ['test images', ...(detection ? ['test boxes'] : [])] : [])];
  const rows = stats.labels.map((l) => [
    l.label,
    String(l.images),
    ...(detection ? [String(l.boxes)] : []),
    ...(withTest ? [String(l.testImages ?? 0), ...(detection ? [String(l.testBoxes ?? 0)] : [])] : []),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const fmt = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd();
  const out: string[] = [];
  out.push(`use case: ${stats.useCase}`);
  out.push(`lines: ${stats.totalLines} total, ${stats.validLines} valid`);
  out.push(`labels: ${stats.labels.length}`);
  if (rows.length > 0) {
    out.push('', fmt(header), fmt(widths.map((w) => '-'.repeat(w))), ...rows.map(fmt));
  }
  if (stats.guidance.length > 0) {
    out.push('', 'guidance:', ...stats.guidance.map((g) => `  - ${g}`));
  }
  return out.join('\n') + '\n';
}
