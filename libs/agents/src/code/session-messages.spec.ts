import { notesOf, resultOf, toolSummary } from './session-messages';

describe('Claude Code session messages', () => {
  it('shows assistant text and each tool call with a one-line summary', () => {
    const notes = notesOf({
      type: 'assistant',
      message: {
        content: [
          { type: 'text', text: '  I will add sum.  ' },
          { type: 'tool_use', name: 'Write', input: { file_path: '/workspace/src/sum.js', content: 'x' } },
          { type: 'tool_use', name: 'Bash', input: { command: 'npm   test\n && echo ok' } },
        ],
      },
    });
    expect(notes).toEqual([
      { level: 'info', kind: 'assistant', message: 'I will add sum.' },
      { level: 'info', kind: 'tool', tool: 'Write', message: 'Write /workspace/src/sum.js' },
      { level: 'info', kind: 'tool', tool: 'Bash', message: 'Bash npm test && echo ok' },
    ]);
  });

  it('truncates tool results and marks errors as warnings', () => {
    const [ok, failed] = notesOf({
      type: 'user',
      message: {
        content: [
          { type: 'tool_result', content: 'x'.repeat(800) },
          {
            type: 'tool_result',
            is_error: true,
            content: [{ type: 'text', text: 'File has not been read yet' }],
          },
        ],
      },
    });
    expect(ok.message).toMatch(/^x{500}… \(300 more characters\)$/);
    expect(failed).toEqual({ level: 'warn', kind: 'tool_result', message: 'File has not been read yet' });
  });

  it('reads the result: cost, turns, usage, the model that answered most, budget stops as errors', () => {
    const r = resultOf({
      type: 'result',
      subtype: 'error_max_turns',
      is_error: false,
      total_cost_usd: 0.0123,
      num_turns: 7,
      usage: { input_tokens: 1000, output_tokens: 200, cache_read_input_tokens: 50 },
      modelUsage: { 'claude-haiku-4-5': { outputTokens: 10 }, 'claude-sonnet-4-5': { outputTokens: 190 } },
      errors: ['max turns reached'],
    });
    expect(r).toEqual({
      subtype: 'error_max_turns',
      isError: true,
      costUsd: 0.0123,
      numTurns: 7,
      usage: { inputTokens: 1000, outputTokens: 200, cacheReadTokens: 50 },
      model: 'claude-sonnet-4-5',
      text: 'max turns reached',
    });
    expect(resultOf({ type: 'assistant' })).toBeNull();
    expect(resultOf({ type: 'result', total_cost_usd: -1, num_turns: 'x' })).toEqual(
      expect.objectContaining({ costUsd: 0, numTurns: 0, model: null, subtype: 'unknown' }),
    );
  });

  it('ignores messages it does not show', () => {
    expect(notesOf({ type: 'stream_event' })).toEqual([]);
    expect(notesOf(null)).toEqual([]);
    expect(toolSummary('Glob', { pattern: 'src/**/*.ts' })).toBe('Glob src/**/*.ts');
  });
});
