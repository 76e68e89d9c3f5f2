/**
 * Writes a large text object to S3 line by line with bounded memory: one PutObject while it is small, a multipart
 * upload once it passes a part's size (S3 takes at most 5 GB in one PUT; parts are at least 5 MiB but the last, at
 * most 10,000). A predictions manifest of 10 million images is about 8 GB. A writer that fails midway leaves its parts
 * unfinished: the buckets we create remove them after a week (secureBucket's lifecycle rule). [inferred] No abort here:
 * the local S3 does not take AbortMultipartUpload, so it could not be tested offline.
 */
import {
  CompleteMultipartUploadCommand, CreateMultipartUploadCommand, PutObjectCommand, S3Client, UploadPartCommand,
} from '@aws-sdk/client-s3';

/** S3's smallest part but the last. */
export const MIN_PART_BYTES = 5 * 1024 * 1024;

export class S3LineWriter {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private uploadId: string | undefined;
  private readonly parts: { ETag: string; PartNumber: number }[] = [];
  /** Bytes written so far. */
  bytes = 0;

  constructor(private readonly s3: S3Client, private readonly bucket: string, private readonly key: string,
    private readonly contentType: string, private readonly partBytes = 16 * 1024 * 1024) {
    if (partBytes < MIN_PART_BYTES) throw new Error(`partBytes must be at least ${MIN_PART_BYTES} (S3's smallest part), got: ${partBytes}`);
  }

  /** Appends `line` and a newline; uploads a part when a part's worth is buffered. */
  async write(line: string): Promise<void> {
    const b = Buffer.from(`${line}\n`, 'utf8');
    this.chunks.push(b);
    this.buffered += b.length;
    this.bytes += b.length;
    if (this.buffered >= this.partBytes) await this.uploadPart();
  }

  /** Finishes the object: one PutObject when no part went up, else the last part and the completion. */
  async close(): Promise<{ parts: number }> {
    if (this.uploadId === undefined) {
      const body = Buffer.concat(this.chunks);
      await this.s3.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.key, Body: body, ContentType: this.contentType }));
      return { parts: 0 };
    }
    if (this.buffered > 0) await this.uploadPart();
    await this.s3.send(new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key: this.key, UploadId: this.uploadId,
      MultipartUpload: { Parts: this.parts } }));
    return { parts: this.parts.length };
  }

  private async uploadPart(): Promise<void> {
    if (this.uploadId === undefined) {
      const created = await this.s3.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: this.key, ContentType: this.contentType }));
      this.uploadId = created.UploadId!;
    }
    const PartNumber = this.parts.length + 1;
    if (PartNumber > 10_000) throw new Error(`${this.key}: more than 10,000 parts of ${this.partBytes} bytes (S3's limit)`);
    const body = Buffer.concat(this.chunks);
    this.chunks = [];
    this.buffered = 0;
    const res = await this.s3.send(new UploadPartCommand({ Bucket: this.bucket, Key: this.key, UploadId: this.uploadId, PartNumber, Body: body }));
    this.parts.push({ ETag: res.ETag!, PartNumber });
  }
}
