import type { SandboxResult, StopReason } from '@app/runner';
import { StageStatus } from './build.entity';

/** How a stage ended, when it did not succeed. */
export interface StageFailure {
  status: StageStatus;
  reason: string;
}

/** The outcome of a stage stopped by a cancel, a shutdown or a lost lease. */
export function stoppedStage(reason: StopReason | null): StageFailure {
  return reason === 'cancelled'
    ? { status: 'cancelled', reason: 'cancelled' }
    : { status: 'failed', reason: 'the worker shut down during the stage' };
}

/**
 * What command `index` (0-based) of a stage makes of the stage: null when it exited 0 (the stage
 * goes on), else how the stage ends. `stopped` is the outcome when the command was aborted.
 */
export function commandFailure(
  r: SandboxResult,
  index: number,
  timeoutSeconds: number,
  stopped: StageFailure,
): StageFailure | null {
  if (r.outcome === 'exited' && r.exitCode === 0) return null;
  const n = index + 1;
  return r.outcome === 'timeout'
    ? { status: 'failed', reason: `timed out after ${timeoutSeconds} s` }
    : r.outcome === 'aborted'
      ? stopped
      : r.outcome === 'limit'
        ? { status: 'failed', reason: `command ${n}: ${r.reason}` }
        : r.outcome === 'spawn_error'
          ? { status: 'failed', reason: `command ${n} could not start: ${r.reason}` }
          : {
              status: 'failed',
              reason:
                r.exitCode === null
                  ? `command ${n} was killed by ${r.signal}`
                  : `command ${n} exited with code ${r.exitCode}`,
            };
}

/** The secrets a build's log is masked of (its repository URL's and its variables'), longest first. */
export function buildSecrets(urlSecrets: string[], variableSecrets: string[]): string[] {
  return [...new Set([...urlSecrets, ...variableSecrets])].sort((a, b) => b.length - a.length);
}
