/**
 * Where the labels of a local image folder come from.
 *
 * @exampleMetadata fixture=construct
 * @example
 * TrainingData.fromLocalFolder('./images', { labels: LabelSource.FOLDER_NAMES });
 * TrainingData.fromLocalFolder('./images', { labels: LabelSource.fromCsv('./labels.csv') });
 * TrainingData.fromLocalFolder('./images', { labels: LabelSource.fromCoco('./annotations.json') });
 */
export class LabelSource {
  /** Each image's label is the name of the folder it sits in: `<dir>/<label>/<image>.png` (image classification). */
  static readonly FOLDER_NAMES = new LabelSource('FOLDER_NAMES');

  /**
   * A CSV file of rows `image,label[,label...]`, image paths relative to the folder (image classification; several
   * labels on a row make a multi-label line). A header row is detected.
   */
  static fromCsv(file: string): LabelSource {
    return new LabelSource('CSV', file);
  }

  /** A COCO object-detection JSON file whose `images[].file_name` are relative to the folder (object localization). */
  static fromCoco(file: string): LabelSource {
    return new LabelSource('COCO', file);
  }

  /**
   * @param kind FOLDER_NAMES, CSV or COCO
   * @param file the annotation file, for CSV and COCO
   */
  private constructor(readonly kind: string, readonly file?: string) {}
}
