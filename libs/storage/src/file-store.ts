import { Readable, Transform, TransformCallback } from 'node:stream';

/** What `put` is told about the bytes it is given. */
export interface PutOptions {
  /** The exact number of bytes the stream holds: more or fewer fails the put and stores nothing. */
  size: number;
  /** Default application/octet-stream. */
  contentType?: string;
}

/** A stored file being read: its bytes as a stream, read once. */
export interface StoredFile {
  stream: Readable;
  size: number;
  contentType: string;
}

/**
 * Files kept by key (`builds/<buildId>/...`), the one place workers put and gateways read files
 * they do not share a disk for. A put is all or nothing: until it resolves, `get` answers the old
 * file (or null), never part of the new one. Keys are `/`-separated paths of printable characters.
 */
export abstract class FileStore {
  /** Stores the stream's bytes under `key`, replacing what was there. */
  abstract put(key: string, body: Readable, options: PutOptions): Promise<void>;
  /** The file under `key`, or null when there is none. */
  abstract get(key: string): Promise<StoredFile | null>;
  /** Deletes the file under `key`; nothing when there is none. */
  abstract delete(key: string): Promise<void>;
  /** Deletes every file whose key starts with `prefix` (say `builds/b1/`); how many it deleted. */
  abstract deletePrefix(prefix: string): Promise<number>;
}

export const DEFAULT_CONTENT_TYPE = 'application/octet-stream';

/** The longest key (S3 allows 1024 bytes). */
export const MAX_KEY_LENGTH = 1024;

export function assertKey(key: string): void {
  if (!key || Buffer.byteLength(key) > MAX_KEY_LENGTH || !/^[\x21-\x7e]+$/.test(key) || key.startsWith('/'))
    throw new Error(`not a file store key: ${JSON.stringify(key.slice(0, 100))}`);
}

export function assertPrefix(prefix: string): void {
  // An empty prefix would delete everything: never meant.
  assertKey(prefix);
}

/** Passes the bytes through, failing when they are more or fewer than `size`. */
export function exactly(size: number, what: string): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      seen += chunk.length;
      if (seen > size) done(new Error(`${what}: more than the ${size} bytes announced`));
      else done(null, chunk);
    },
    flush(done: TransformCallback) {
      done(seen === size ? null : new Error(`${what}: ${seen} bytes where ${size} were announced`));
    },
  });
}
