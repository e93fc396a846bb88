import { chmod, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Injectable } from '@nestjs/common';
import { AppConfig, FieldError } from '@app/core';
import { Sandbox, SANDBOX_NETWORKS, SandboxNetwork, shell } from '@app/runner';
import { DeployStepRequest, DeployTarget, ParsedTarget, StepOutcome, StoredTarget } from './deploy-target';
import { unknownFields } from './deploy-targets';

const MAX_COMMAND_LENGTH = 4000;
/** The end of a step's output kept with it. */
const OUTPUT_TAIL_BYTES = 8 * 1024;

/** What a script step sees: the step, and nothing of the worker's own environment (no database URL, no secrets). */
export function scriptEnvironment(request: DeployStepRequest): Record<string, string> {
  const { step } = request;
  return {
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
    DEPLOY_STEP_ATTEMPT: String(request.attempt),
    ...(step.colour ? { DEPLOY_COLOR: step.colour } : {}),
    ...(request.previousVersion ? { DEPLOY_PREVIOUS_VERSION: request.previousVersion } : {}),
  };
}

/**
 * `{type: "script", command, network?}`: the worker runs the command with `sh -c` for every step
 * in the sandbox, in a fresh empty workspace (/workspace, also HOME's parent), with the step in
 * DEPLOY_* variables; exit code 0 is success. The sandbox is killed at DEPLOY_SCRIPT_TIMEOUT_MS.
 * `network` ("none", the default, or "internet") says whether the script may reach the internet
 * (never the platform's own services or private addresses).
 */
@Injectable()
export class ScriptTarget implements DeployTarget {
  readonly type = 'script';

  constructor(
    private readonly config: AppConfig,
    private readonly sandbox: Sandbox,
  ) {}

  async parse(raw: Record<string, unknown>): Promise<ParsedTarget | FieldError[]> {
    const problems = unknownFields(raw, ['command', 'network']);
    const { command, network } = raw;
    if (network !== undefined && !SANDBOX_NETWORKS.includes(network as SandboxNetwork))
      problems.push({
        field: 'network',
        message: `target.network must be one of ${SANDBOX_NETWORKS.join(', ')}`,
        code: 'invalid_enum',
      });
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
    return problems.length
      ? problems
      : { config: { command, ...(network !== undefined ? { network } : {}) }, secret: null };
  }

  async execute(target: StoredTarget, request: DeployStepRequest, signal: AbortSignal): Promise<StepOutcome> {
    const { scriptTimeoutMs } = this.config.deployments;
    const root = this.config.builds.workspaceRoot;
    await mkdir(root, { recursive: true });
    // One name per step: a step re-run after a lost worker starts from (and clears) what it left.
    const workdir = join(
      root,
      `${request.deploymentId}-${request.step.name}`.replace(/[^A-Za-z0-9_-]/g, '_'),
    );
    try {
      await rm(workdir, { recursive: true, force: true });
      await mkdir(join(workdir, 'home'), { recursive: true, mode: 0o700 });
      await chmod(workdir, 0o700);
      await this.sandbox.own(workdir, join(workdir, 'home'));
      let tail = Buffer.alloc(0);
      const result = await this.sandbox.run({
        argv: shell(String(target.config.command)),
        workspace: workdir,
        env: scriptEnvironment(request),
        network: target.config.network === 'internet' ? 'internet' : 'none',
        timeoutMs: scriptTimeoutMs,
        signal,
        onOutput: (text) => {
          tail = Buffer.concat([tail, Buffer.from(text)]);
          if (tail.length > OUTPUT_TAIL_BYTES) tail = tail.subarray(tail.length - OUTPUT_TAIL_BYTES);
        },
        jobId: request.deploymentId,
      });
      const error =
        result.outcome === 'timeout'
          ? `timed out after ${scriptTimeoutMs} ms`
          : result.outcome === 'aborted'
            ? 'stopped'
            : result.outcome === 'limit'
              ? String(result.reason)
              : result.outcome === 'spawn_error'
                ? `could not start the command: ${result.reason}`
                : result.exitCode === 0
                  ? null
                  : result.exitCode !== null
                    ? `exit code ${result.exitCode}`
                    : `killed by ${result.signal}`;
      // Drop a partial UTF-8 character the tail may start with.
      return { ok: error === null, output: tail.toString('utf8').replace(/^\uFFFD+/, ''), error };
    } catch (err) {
      return { ok: false, output: '', error: `could not start the command: ${(err as Error).message}` };
    } finally {
      await rm(workdir, { recursive: true, force: true }).catch(() => undefined);
    }
  }
}
