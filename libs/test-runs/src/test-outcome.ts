import type { SandboxResult } from '@app/runner';
import { JUnitTotals } from '@app/core';

/** Why a test command has no result to read (timed out, stopped, refused to start), or null when it exited. */
export function interruptedCommand(r: SandboxResult, timeoutSeconds: number): string | null {
  switch (r.outcome) {
    case 'timeout':
      return `the command timed out after ${timeoutSeconds} s (its sandbox was killed)`;
    case 'aborted':
      return 'the worker shut down during the run';
    case 'limit':
      return `the command was stopped: ${r.reason}`;
    case 'spawn_error':
      return `the command could not start: ${r.reason}`;
    default:
      return null;
  }
}

/** How a command that ran ended, as a sentence's predicate. */
export function exitDescription(r: SandboxResult): string {
  return r.exitCode === null ? `was killed by ${r.signal}` : `exited with code ${r.exitCode}`;
}

/** What a command did wrong with its report, as a sentence's predicate. */
export function reportProblem(
  reason: 'missing' | 'stale' | 'too_big' | 'outside',
  reportPath: string,
  maxReportBytes: number,
): string {
  return {
    missing: `wrote no report at ${reportPath}`,
    stale: `wrote no new report at ${reportPath} (the file there is older than the run)`,
    too_big: `wrote a report bigger than ${maxReportBytes} bytes (TESTS_MAX_REPORT_BYTES)`,
    outside: `wrote ${reportPath} as a link leading out of its directory`,
  }[reason];
}

/**
 * A run's status from its report and its command's exit: failed when a case failed or erred,
 * passed when none did and the command exited 0, else an error (a report that contradicts it).
 */
export function verdict(
  totals: JUnitTotals,
  r: SandboxResult,
): { status: 'passed' | 'failed' } | { status: 'error'; error: string } {
  if (totals.failed + totals.errors > 0) return { status: 'failed' };
  if (r.exitCode === 0) return { status: 'passed' };
  return { status: 'error', error: `the command ${exitDescription(r)} although its report has no failure` };
}
