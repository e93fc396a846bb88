export const MASK = '[MASKED]';

/**
 * Values shorter than this are not masked: a variable `DEBUG=1` would otherwise turn every "1" of
 * the log into [MASKED] (GitLab refuses to mask values under 8 characters for the same reason).
 */
export const MIN_MASKED_LENGTH = 4;

/** The values to hide: every variable value long enough to mask, longest first. */
export function secretsOf(variables: Record<string, string>): string[] {
  const values = new Set(Object.values(variables).filter((v) => v.length >= MIN_MASKED_LENGTH));
  return [...values].sort((a, b) => b.length - a.length);
}

export function maskText(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (out.includes(s)) out = out.split(s).join(MASK);
  return out;
}

/**
 * Masks a stream of output chunks. A secret may arrive split across two chunks, so the last
 * (longest secret - 1) characters are held back until more output arrives or the stream ends:
 * whatever is released can no longer be the beginning of a secret.
 */
export class StreamMasker {
  private pending = '';
  private readonly holdBack: number;

  constructor(private readonly secrets: readonly string[]) {
    this.holdBack = secrets.reduce((max, s) => Math.max(max, s.length - 1), 0);
  }

  /** Masked text safe to store now (may be empty). */
  push(chunk: string): string {
    const text = maskText(this.pending + chunk, this.secrets);
    if (!this.holdBack) {
      this.pending = '';
      return text;
    }
    // Never release the tail that could still grow into a secret; keep masks whole.
    let cut = Math.max(0, text.length - this.holdBack);
    const maskAt = text.lastIndexOf(MASK, cut);
    if (maskAt !== -1 && maskAt < cut && maskAt + MASK.length > cut) cut = maskAt + MASK.length;
    this.pending = text.slice(cut);
    return text.slice(0, cut);
  }

  /** The rest, at the end of the stream. */
  end(): string {
    const text = maskText(this.pending, this.secrets);
    this.pending = '';
    return text;
  }
}
