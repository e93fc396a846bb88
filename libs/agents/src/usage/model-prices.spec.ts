import { addUsage, costOf, priceOf } from './model-prices';

const prices = {
  'claude-sonnet-4': { input: 3, output: 15, cacheRead: 0.3 },
  'claude-sonnet-4-5': { input: 4, output: 16, cacheRead: 0.4 },
  'claude-opus-4': { input: 15, output: 75, cacheRead: 1.5 },
};

describe('model prices', () => {
  it('picks the longest matching prefix', () => {
    expect(priceOf('claude-sonnet-4-20250514', prices)).toEqual(prices['claude-sonnet-4']);
    expect(priceOf('claude-sonnet-4-5-20250929', prices)).toEqual(prices['claude-sonnet-4-5']);
    expect(priceOf('claude-opus-4-1', prices)).toEqual(prices['claude-opus-4']);
    expect(priceOf('template', prices)).toBeNull();
  });

  it('prices input, output and cache reads per million tokens, to the micro-dollar', () => {
    const usage = { inputTokens: 1000, outputTokens: 500, cacheReadTokens: 2000 };
    // 1000*3 + 500*15 + 2000*0.3 = 3000 + 7500 + 600 = 11100 per million -> 0.0111
    expect(costOf('claude-sonnet-4-20250514', usage, prices)).toBe(0.0111);
    expect(costOf('claude-opus-4-1', { inputTokens: 1, outputTokens: 0, cacheReadTokens: 0 }, prices)).toBe(
      0.000015,
    );
  });

  it('costs nothing for a model without a price (the offline templates)', () => {
    expect(costOf('template', { inputTokens: 5, outputTokens: 5, cacheReadTokens: 5 }, prices)).toBe(0);
  });

  it('adds usages field by field', () => {
    expect(
      addUsage(
        { inputTokens: 1, outputTokens: 2, cacheReadTokens: 3 },
        { inputTokens: 10, outputTokens: 20, cacheReadTokens: 30 },
      ),
    ).toEqual({ inputTokens: 11, outputTokens: 22, cacheReadTokens: 33 });
  });
});
