import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { FileStoreConfig } from '@app/core';
import { pipeline } from 'node:stream/promises';
import { PassThrough, Readable } from 'node:stream';
import {
  assertKey,
  assertPrefix,
  DEFAULT_CONTENT_TYPE,
  exactly,
  FileStore,
  PutOptions,
  StoredFile,
} from './file-store';

/** The S3 settings of FILE_STORE=s3, as the config reads them. */
export type S3FileStoreOptions = Omit<Extract<FileStoreConfig, { kind: 's3' }>, 'kind'>;

/**
 * Files as objects of an S3-compatible bucket (FILE_STORE=s3): AWS S3, MinIO, Ceph, ... The bucket
 * must exist. An object appears whole when its PUT completes (S3 has no partial objects).
 */
export class S3FileStore extends FileStore {
  readonly client: S3Client;
  private readonly bucket: string;

  constructor(options: S3FileStoreOptions) {
    super();
    this.bucket = options.bucket;
    this.client = new S3Client({
      region: options.region,
      endpoint: options.endpoint,
      forcePathStyle: options.forcePathStyle,
      credentials:
        options.accessKeyId && options.secretAccessKey
          ? { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey }
          : undefined,
      // Checksums only where S3 requires them: the streamed bodies then go as plain uploads of a
      // known length, which every S3-compatible server takes (not all know aws-chunked trailers).
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  async put(key: string, body: Readable, options: PutOptions): Promise<void> {
    assertKey(key);
    const checked = new PassThrough();
    const abort = new AbortController();
    // The count is checked as the bytes go: a stream that fails, or is short or long, aborts the
    // PUT, and S3 keeps no part of an aborted upload.
    const piping = pipeline(body, exactly(options.size, key), checked).catch((err: Error) => {
      abort.abort(err);
      throw err;
    });
    const upload = this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: checked,
        ContentLength: options.size,
        ContentType: options.contentType ?? DEFAULT_CONTENT_TYPE,
      }),
      { abortSignal: abort.signal },
    );
    const [piped, uploaded] = await Promise.allSettled([piping, upload]);
    if (piped.status === 'rejected') {
      // The announced bytes all went before the stream failed (it was longer): S3 took them. Better
      // no object than one the caller was told is not there.
      if (uploaded.status === 'fulfilled') await this.delete(key).catch(() => undefined);
      throw piped.reason;
    }
    if (uploaded.status === 'rejected') throw uploaded.reason;
  }

  async get(key: string): Promise<StoredFile | null> {
    assertKey(key);
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return {
        stream: out.Body as Readable,
        size: out.ContentLength ?? 0,
        contentType: out.ContentType ?? DEFAULT_CONTENT_TYPE,
      };
    } catch (err) {
      if (notFound(err)) return null;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    assertKey(key);
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  async deletePrefix(prefix: string): Promise<number> {
    assertPrefix(prefix);
    let deleted = 0;
    // Each page is deleted before the next is listed: a listing is at most 1000 keys, one DeleteObjects.
    for (;;) {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, MaxKeys: 1000 }),
      );
      const keys = (page.Contents ?? []).map((o) => o.Key).filter((k): k is string => Boolean(k));
      if (!keys.length) return deleted;
      const out = await this.client.send(
        new DeleteObjectsCommand({
          Bucket: this.bucket,
          Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true },
        }),
      );
      if (out.Errors?.length)
        throw new Error(
          `could not delete ${out.Errors.length} objects under ${prefix}: ${out.Errors[0].Code} ${out.Errors[0].Message}`,
        );
      deleted += keys.length;
      if (!page.IsTruncated) return deleted;
    }
  }

  /** Throws when the bucket cannot be reached with these settings (missing, refused, unreachable). */
  async check(): Promise<void> {
    await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
  }

  destroy(): void {
    this.client.destroy();
  }
}

function notFound(err: unknown): boolean {
  if (err instanceof S3ServiceException)
    return err.name === 'NoSuchKey' || err.name === 'NotFound' || err.$metadata.httpStatusCode === 404;
  return false;
}
