import { analyse, boxFeature, Feature, featureDistance, HIST_BINS, imageFeature, regionBoxRatios, regionFeature, similarity, toGrid } from './features';
import { decodeImage } from './image';
import { Detection, LabelCentroid, LabeledImage, ModelKind, TrainedModel } from './types';

/** Sorts by UTF-16 code units, never by locale, so output is the same on every machine. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

class CentroidSum {
  readonly hist = new Float64Array(HIST_BINS);
  fill = 0;
  examples = 0;

  add(f: Feature): void {
    for (let k = 0; k < HIST_BINS; k++) this.hist[k] += f.hist[k];
    this.fill += f.fill;
    this.examples++;
  }

  mean(): LabelCentroid {
    return { hist: Array.from(this.hist, (v) => v / this.examples), fill: this.fill / this.examples, examples: this.examples };
  }
}

/**
 * Learns one centroid per label: the mean whole-image feature of the images carrying it (classification), or the
 * mean feature of its boxes (detection), one image at a time (the emulator yields to its event loop between images).
 * Deterministic; the model survives JSON.stringify/parse unchanged. `add` throws ImageDecodeError for an image that is
 * not a readable PNG/JPEG: the caller filters invalid images first.
 */
export class Trainer {
  private readonly sums = new Map<string, CentroidSum>();

  constructor(private readonly kind: ModelKind) {
    if (kind !== 'IMAGE_LEVEL_LABELS' && kind !== 'OBJECT_LOCALIZATION') {
      throw new Error(`kind must be IMAGE_LEVEL_LABELS or OBJECT_LOCALIZATION, got: ${String(kind)}`);
    }
  }

  add(image: LabeledImage): void {
    const wanted = this.kind === 'IMAGE_LEVEL_LABELS' ? image.labels.length > 0 : image.boxes.length > 0;
    if (!wanted) return;
    const analysis = analyse(toGrid(decodeImage(image.bytes)));
    if (this.kind === 'IMAGE_LEVEL_LABELS') {
      const f = imageFeature(analysis);
      for (const label of new Set(image.labels)) this.sumFor(label).add(f);
    } else {
      for (const box of image.boxes) this.sumFor(box.label).add(boxFeature(analysis, box));
    }
  }

  model(trainingImages: number): TrainedModel {
    const labels = [...this.sums.keys()].sort(compareStrings);
    return {
      kind: this.kind,
      labels,
      algorithm: 'centroid-histogram-v1',
      centroids: labels.map((l) => this.sums.get(l)!.mean()),
      trainingImages,
    };
  }

  private sumFor(label: string): CentroidSum {
    let s = this.sums.get(label);
    if (!s) this.sums.set(label, (s = new CentroidSum()));
    return s;
  }
}

/** Trains on every image at once (see Trainer). */
export function trainModel(kind: ModelKind, training: LabeledImage[]): TrainedModel {
  const trainer = new Trainer(kind);
  for (const image of training) trainer.add(image);
  return trainer.model(training.length);
}

function assertModel(model: TrainedModel): void {
  if (model?.algorithm !== 'centroid-histogram-v1' || !Array.isArray(model.centroids) || model.centroids.length !== model.labels.length) {
    throw new Error('The model was not trained by this learner (algorithm centroid-histogram-v1).');
  }
}

function byConfidence(a: Detection, b: Detection): number {
  return b.confidence - a.confidence || compareStrings(a.name, b.name)
    || (a.box?.top ?? 0) - (b.box?.top ?? 0) || (a.box?.left ?? 0) - (b.box?.left ?? 0);
}

/**
 * Raw scores, no threshold applied. Classification: one entry per label. Detection: one entry per foreground
 * region, named after its nearest label, box as ratios of the image size. Highest confidence first.
 */
export function detect(model: TrainedModel, bytes: Buffer): Detection[] {
  return detectSized(model, bytes).predictions;
}

/** detect, plus the image's size (the evaluation needs it and should not decode twice). */
export function detectSized(model: TrainedModel, bytes: Buffer): { predictions: Detection[]; width: number; height: number } {
  assertModel(model);
  const image = decodeImage(bytes);
  const analysis = analyse(toGrid(image));
  const score = (f: Feature, i: number): number => similarity(featureDistance(f, model.centroids[i].hist, model.centroids[i].fill));
  const out: Detection[] = [];
  if (model.kind === 'IMAGE_LEVEL_LABELS') {
    const f = imageFeature(analysis);
    model.labels.forEach((name, i) => out.push({ name, confidence: score(f, i) }));
  } else if (model.labels.length > 0) {
    for (const region of analysis.regions) {
      const f = regionFeature(region);
      let best = 0;
      let bestScore = -1;
      model.labels.forEach((_, i) => {
        const s = score(f, i);
        if (s > bestScore) {
          best = i;
          bestScore = s;
        }
      });
      out.push({ name: model.labels[best], confidence: bestScore, box: regionBoxRatios(analysis.grid, region) });
    }
  }
  return { predictions: out.sort(byConfidence), width: image.width, height: image.height };
}
