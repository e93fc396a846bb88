import type { SandboxResult } from '@app/runner';
import { JUnitTotals } from '@app/core';
import { exitDescription, interruptedCommand, reportProblem, verdict } from './test-outcome';

const result = (r: Partial<SandboxResult>): SandboxResult => ({
  outcome: 'exited',
  exitCode: 0,
  signal: null,
  durationMs: 5,
  ...r,
});
const totals = (t: Partial<JUnitTotals>): JUnitTotals => ({
  total: 3,
  passed: 3,
  failed: 0,
  skipped: 0,
  errors: 0,
  duration: 1.5,
  ...t,
});

describe('test run outcomes', () => {
  it('reads the results of a command that exited, whatever its code', () => {
    expect(interruptedCommand(result({}), 60)).toBeNull();
    expect(interruptedCommand(result({ exitCode: 1 }), 60)).toBeNull();
  });

  it('says why a command that did not run to its end has no results', () => {
    expect(interruptedCommand(result({ outcome: 'timeout', exitCode: null }), 30)).toBe(
      'the command timed out after 30 s (its sandbox was killed)',
    );
    expect(interruptedCommand(result({ outcome: 'aborted', exitCode: null }), 30)).toBe(
      'the worker shut down during the run',
    );
    expect(interruptedCommand(result({ outcome: 'limit', reason: 'disk full' }), 30)).toBe(
      'the command was stopped: disk full',
    );
    expect(interruptedCommand(result({ outcome: 'spawn_error', reason: 'ENOENT' }), 30)).toBe(
      'the command could not start: ENOENT',
    );
  });

  it('describes the exit and what is wrong with the report', () => {
    expect(exitDescription(result({ exitCode: 2 }))).toBe('exited with code 2');
    expect(exitDescription(result({ exitCode: null, signal: 'SIGTERM' }))).toBe('was killed by SIGTERM');
    expect(reportProblem('missing', 'out/junit.xml', 100)).toBe('wrote no report at out/junit.xml');
    expect(reportProblem('too_big', 'out/junit.xml', 100)).toBe(
      'wrote a report bigger than 100 bytes (TESTS_MAX_REPORT_BYTES)',
    );
  });

  it('fails a run with a failed or erred case, passes a clean one that exited 0', () => {
    expect(verdict(totals({ failed: 1 }), result({ exitCode: 1 }))).toEqual({ status: 'failed' });
    expect(verdict(totals({ errors: 1 }), result({}))).toEqual({ status: 'failed' });
    expect(verdict(totals({}), result({}))).toEqual({ status: 'passed' });
  });

  it('calls a clean report from a command that failed an error', () => {
    expect(verdict(totals({}), result({ exitCode: 3 }))).toEqual({
      status: 'error',
      error: 'the command exited with code 3 although its report has no failure',
    });
  });
});
