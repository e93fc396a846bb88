import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { FileStore } from '@app/storage';

/** The whole stream as one buffer (the tests' files are small enough). */
export async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of stream as AsyncIterable<Buffer>) parts.push(Buffer.from(p));
  return Buffer.concat(parts);
}

/** `data` as a stream of uneven pieces (not aligned to any chunk size). */
export function piecesOf(data: Buffer, piece = 100_003): Readable {
  return Readable.from(
    (function* () {
      for (let i = 0; i < data.length; i += piece) yield data.subarray(i, i + piece);
    })(),
  );
}

/**
 * What every FileStore must do; `store()` is called in each test, after the caller's beforeAll.
 * `concurrentPuts: false` skips two puts of one key at once (s3rver writes both into one file;
 * S3 itself keeps the last whole).
 */
export function fileStoreContract(store: () => FileStore, largeBytes: number, concurrentPuts = true): void {
  const text = (s: string) => ({ body: Readable.from([Buffer.from(s)]), size: Buffer.byteLength(s) });

  it('puts and gets a file with its size and content type', async () => {
    const { body, size } = text('hello, store');
    await store().put('spec/a/hello.txt', body, { size, contentType: 'text/plain' });
    const got = await store().get('spec/a/hello.txt');
    expect(got).toMatchObject({ size: 12, contentType: 'text/plain' });
    expect((await readAll(got!.stream)).toString()).toBe('hello, store');
  });

  it('says application/octet-stream when no content type was given, and keeps an empty file', async () => {
    await store().put('spec/a/empty', Readable.from([]), { size: 0 });
    const got = await store().get('spec/a/empty');
    expect(got).toMatchObject({ size: 0, contentType: 'application/octet-stream' });
    expect((await readAll(got!.stream)).length).toBe(0);
  });

  it('streams a large file (many chunks) in and out unchanged', async () => {
    const data = randomBytes(largeBytes);
    await store().put('spec/large/blob.bin', piecesOf(data), { size: data.length });
    const got = await store().get('spec/large/blob.bin');
    expect(got?.size).toBe(data.length);
    const back = await readAll(got!.stream);
    expect(back.length).toBe(data.length);
    expect(back.equals(data)).toBe(true);
  });

  it('replaces a file put again under the same key', async () => {
    await store().put('spec/b/x', text('first').body, { size: 5 });
    await store().put('spec/b/x', text('second!').body, { size: 7 });
    expect((await readAll((await store().get('spec/b/x'))!.stream)).toString()).toBe('second!');
  });

  (concurrentPuts ? it : it.skip)(
    'takes two puts of one key at once: the key then holds one of them, whole',
    async () => {
      const a = Buffer.alloc(300_000, 'a');
      const b = Buffer.alloc(200_000, 'b');
      await Promise.all([
        store().put('spec/race/k', piecesOf(a), { size: a.length }),
        store().put('spec/race/k', piecesOf(b), { size: b.length }),
      ]);
      const back = await readAll((await store().get('spec/race/k'))!.stream);
      expect(back.equals(a) || back.equals(b)).toBe(true);
    },
  );

  it('refuses a stream longer or shorter than announced and keeps what was there', async () => {
    await store().put('spec/c/keep', text('old').body, { size: 3 });
    await expect(store().put('spec/c/keep', text('too long').body, { size: 3 })).rejects.toThrow(/announced/);
    await expect(store().put('spec/c/keep', text('ab').body, { size: 3 })).rejects.toThrow(/announced/);
    expect((await readAll((await store().get('spec/c/keep'))!.stream)).toString()).toBe('old');
    await expect(store().put('spec/c/new', text('ab').body, { size: 9 })).rejects.toThrow(/announced/);
    expect(await store().get('spec/c/new')).toBeNull();
  });

  it('refuses a put whose stream fails and stores nothing', async () => {
    const failing = Readable.from(
      (async function* () {
        yield Buffer.from('some bytes');
        throw new Error('disk went away');
      })(),
    );
    await expect(store().put('spec/c/failed', failing, { size: 100 })).rejects.toThrow('disk went away');
    expect(await store().get('spec/c/failed')).toBeNull();
  });

  it('answers null for a missing key and deletes one key, missing or not', async () => {
    expect(await store().get('spec/missing/nothing')).toBeNull();
    await store().put('spec/d/one', text('1').body, { size: 1 });
    await store().delete('spec/d/one');
    expect(await store().get('spec/d/one')).toBeNull();
    await expect(store().delete('spec/d/one')).resolves.toBeUndefined();
  });

  it('deletes every key under a prefix and nothing else', async () => {
    for (const key of ['spec/p/b_1/0', 'spec/p/b_1/1', 'spec/p/b_1/sub/2', 'spec/p/b_10/0', 'spec/p/bx1/0'])
      await store().put(key, text(key).body, { size: key.length });
    expect(await store().deletePrefix('spec/p/b_1/')).toBe(3);
    expect(await store().get('spec/p/b_1/0')).toBeNull();
    expect(await store().get('spec/p/b_1/sub/2')).toBeNull();
    // "_" is no wildcard: b_10 and bx1 stay.
    expect((await readAll((await store().get('spec/p/b_10/0'))!.stream)).toString()).toBe('spec/p/b_10/0');
    expect(await store().get('spec/p/bx1/0')).not.toBeNull();
    expect(await store().deletePrefix('spec/p/none/')).toBe(0);
  });

  it('refuses keys that are not paths of printable characters', async () => {
    await expect(store().get('')).rejects.toThrow(/not a file store key/);
    await expect(store().get('/abs')).rejects.toThrow(/not a file store key/);
    await expect(store().get('with space')).rejects.toThrow(/not a file store key/);
    await expect(store().deletePrefix('')).rejects.toThrow(/not a file store key/);
  });
}
