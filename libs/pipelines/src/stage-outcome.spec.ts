import type { SandboxResult } from '@app/runner';
import { buildSecrets, commandFailure, stoppedStage } from './stage-outcome';

const result = (r: Partial<SandboxResult>): SandboxResult => ({
  outcome: 'exited',
  exitCode: 0,
  signal: null,
  durationMs: 5,
  ...r,
});

describe('stage outcomes', () => {
  const stopped = stoppedStage('cancelled');

  it('goes on after a command that exited 0', () => {
    expect(commandFailure(result({}), 0, 60, stopped)).toBeNull();
  });

  it('says which command failed and how, counting from 1', () => {
    expect(commandFailure(result({ exitCode: 2 }), 1, 60, stopped)).toEqual({
      status: 'failed',
      reason: 'command 2 exited with code 2',
    });
    expect(commandFailure(result({ exitCode: null, signal: 'SIGKILL' }), 0, 60, stopped)).toEqual({
      status: 'failed',
      reason: 'command 1 was killed by SIGKILL',
    });
    expect(commandFailure(result({ outcome: 'limit', reason: 'output over 1 MiB' }), 2, 60, stopped)).toEqual(
      {
        status: 'failed',
        reason: 'command 3: output over 1 MiB',
      },
    );
    expect(commandFailure(result({ outcome: 'spawn_error', reason: 'ENOENT' }), 0, 60, stopped)).toEqual({
      status: 'failed',
      reason: 'command 1 could not start: ENOENT',
    });
  });

  it("fails a timed-out stage with the stage's timeout", () => {
    expect(commandFailure(result({ outcome: 'timeout', exitCode: null }), 0, 90, stopped)).toEqual({
      status: 'failed',
      reason: 'timed out after 90 s',
    });
  });

  it('ends an aborted stage as the stop asked: cancelled, or failed for a shutdown or a lost lease', () => {
    expect(commandFailure(result({ outcome: 'aborted', exitCode: null }), 0, 60, stopped)).toBe(stopped);
    expect(stoppedStage('cancelled')).toEqual({ status: 'cancelled', reason: 'cancelled' });
    for (const reason of ['shutdown', 'lost', null] as const)
      expect(stoppedStage(reason)).toEqual({
        status: 'failed',
        reason: 'the worker shut down during the stage',
      });
  });

  it('masks each secret once, the longest first', () => {
    expect(buildSecrets(['tok', 'password'], ['password', 'longer-secret'])).toEqual([
      'longer-secret',
      'password',
      'tok',
    ]);
  });
});
