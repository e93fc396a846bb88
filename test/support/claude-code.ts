import { StreamTurn } from './fake-anthropic';

/** Claude Code's CLI, an optional dependency: where it is missing, the sessions cannot run. */
export const CLAUDE_CODE_CLI = (() => {
  try {
    return require.resolve(`@anthropic-ai/claude-agent-sdk-${process.platform}-${process.arch}/claude`);
  } catch {
    return null;
  }
})();

/** `it` where the CLI is installed, `it.skip` (with a warning) where it is not. */
export function withClaudeCode(suite: string): jest.It {
  if (!CLAUDE_CODE_CLI)
    console.warn(
      `${suite}: @anthropic-ai/claude-agent-sdk-linux-x64 is not installed here, so the claude-code sessions cannot run`,
    );
  return CLAUDE_CODE_CLI ? it : it.skip;
}

/** The model's turns, as the fake Messages API plays them to the CLI (the workspace is /workspace/src). */
export const turns = {
  write: (file: string, content: string): StreamTurn => ({
    toolUse: { name: 'Write', input: { file_path: `/workspace/src/${file}`, content } },
  }),
  read: (file: string): StreamTurn => ({
    toolUse: { name: 'Read', input: { file_path: `/workspace/src/${file}` } },
  }),
  bash: (command: string): StreamTurn => ({ toolUse: { name: 'Bash', input: { command } } }),
  end: (text: string): StreamTurn => ({ text, end: true }),
};
