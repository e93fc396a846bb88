/** Tokens one model call (or a whole activation) used, as the Messages API reports them. */
export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
  /** Input read from the prompt cache (billed at a fraction of input). */
  cacheReadTokens: number;
}

export const NO_USAGE: TokenUsage = { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0 };

/** USD per million tokens. */
export interface ModelPrice {
  input: number;
  output: number;
  cacheRead: number;
}

export function addUsage(a: TokenUsage, b: TokenUsage): TokenUsage {
  return {
    inputTokens: a.inputTokens + b.inputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    cacheReadTokens: a.cacheReadTokens + b.cacheReadTokens,
  };
}

/**
 * The price of a model id: the entry whose key is the longest prefix of it (so
 * `claude-sonnet-4` prices claude-sonnet-4-20250514 and claude-sonnet-4-5), or null when none is.
 */
export function priceOf(model: string, prices: Record<string, ModelPrice>): ModelPrice | null {
  let best: string | null = null;
  for (const key of Object.keys(prices))
    if (model.startsWith(key) && (best === null || key.length > best.length)) best = key;
  return best === null ? null : prices[best];
}

/** USD for this usage of this model, rounded to the micro-dollar; 0 for a model without a price. */
export function costOf(model: string, usage: TokenUsage, prices: Record<string, ModelPrice>): number {
  const price = priceOf(model, prices);
  if (!price) return 0;
  const usd =
    (usage.inputTokens * price.input +
      usage.outputTokens * price.output +
      usage.cacheReadTokens * price.cacheRead) /
    1_000_000;
  return Math.round(usd * 1_000_000) / 1_000_000;
}
