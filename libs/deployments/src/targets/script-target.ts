import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Injectable } from '@nestjs/common';
import { AppConfig, FieldError } from '@app/core';
import { DeployStepRequest, DeployTarget, ParsedTarget, StepOutcome, StoredTarget } from './deploy-target';
import { unknownFields } from './deploy-targets';
import { runScript } from './run-script';

const MAX_COMMAND_LENGTH = 4000;

/** What a script step sees: the step, and nothing of the worker's own environment (no database URL, no secrets). */
export function scriptEnvironment(
  request: DeployStepRequest,
  path: string,
  home: string,
): Record<string, string> {
  const { step } = request;
  return {
    PATH: path,
    HOME: home,
    LANG: 'C.UTF-8',
    DEPLOY_ID: request.deploymentId,
    DEPLOY_APP: request.application.name,
    DEPLOY_APP_ID: request.application.id,
    DEPLOY_ENV: request.environment,
    DEPLOY_VERSION: step.version,
    DEPLOY_STRATEGY: request.strategy,
    DEPLOY_STEP: step.name,
    DEPLOY_ACTION: step.action,
    DEPLOY_PERCENT: String(step.percent),
    DEPLOY_ATTEMPT: String(request.attempt),
    ...(step.colour ? { DEPLOY_COLOR: step.colour } : {}),
    ...(request.previousVersion ? { DEPLOY_PREVIOUS_VERSION: request.previousVersion } : {}),
  };
}

/**
 * `{type: "script", command}`: the worker runs the command with `sh -c` for every step, in a
 * fresh temporary directory, with the step in DEPLOY_* variables; exit code 0 is success. The
 * process group is killed at DEPLOY_SCRIPT_TIMEOUT_MS. Only devops and admin define applications,
 * since a command runs on the workers.
 */
@Injectable()
export class ScriptTarget implements DeployTarget {
  readonly type = 'script';

  constructor(private readonly config: AppConfig) {}

  async parse(raw: Record<string, unknown>): Promise<ParsedTarget | FieldError[]> {
    const problems = unknownFields(raw, ['command']);
    const { command } = raw;
    if (typeof command !== 'string' || !command.trim())
      problems.push({
        field: 'command',
        message: 'target.command must be a non-empty string',
        code: 'required',
      });
    else if (command.length > MAX_COMMAND_LENGTH || command.includes('\0'))
      problems.push({
        field: 'command',
        message: `target.command must be at most ${MAX_COMMAND_LENGTH} characters, without NUL`,
        code: 'max_length',
      });
    return problems.length ? problems : { config: { command }, secret: null };
  }

  async execute(target: StoredTarget, request: DeployStepRequest, signal: AbortSignal): Promise<StepOutcome> {
    const { scriptTimeoutMs, scriptPath } = this.config.deployments;
    const workdir = await mkdtemp(join(tmpdir(), 'cocode-deploy-'));
    try {
      const result = await runScript(String(target.config.command), {
        env: scriptEnvironment(request, scriptPath, workdir),
        cwd: workdir,
        timeoutMs: scriptTimeoutMs,
        signal,
      });
      const error = result.timedOut
        ? `timed out after ${scriptTimeoutMs} ms`
        : result.aborted
          ? 'stopped'
          : result.exitCode === 0
            ? null
            : result.exitCode !== null
              ? `exit code ${result.exitCode}`
              : `killed by ${result.signal}`;
      return { ok: error === null, output: result.output, error };
    } catch (err) {
      return { ok: false, output: '', error: `could not start the command: ${(err as Error).message}` };
    } finally {
      await rm(workdir, { recursive: true, force: true }).catch(() => undefined);
    }
  }
}
