import { FieldError } from '@app/core';
import { Colour, Environment, StepAction, Strategy } from '../deployment-plan';

/** One step of a deployment, as a target receives it. */
export interface DeployStepRequest {
  deploymentId: string;
  application: { id: string; name: string };
  environment: Environment;
  strategy: Strategy;
  step: { name: string; action: StepAction; percent: number; colour: Colour | null; version: string };
  /** What was live when the deployment started, if anything. */
  previousVersion: string | null;
  /** 1 for the first run of the step; more for health-check tries and re-runs after a lost worker. */
  attempt: number;
}

export interface StepOutcome {
  ok: boolean;
  /** The tail of what the target said, for the step's record. */
  output: string;
  /** Why it failed (null when ok). */
  error: string | null;
}

/** A target as stored with its application. */
export interface StoredTarget {
  type: string;
  config: Record<string, unknown>;
  secret: string | null;
}

export type ParsedTarget = { config: Record<string, unknown>; secret: string | null };

/**
 * A kind of deploy target: how an application's deployment steps are carried out. A new kind
 * (Kubernetes, say) is one more implementation registered in DeploymentsModule; plans, runner,
 * API and storage stay as they are.
 */
export interface DeployTarget {
  /** The `target.type` that selects it. */
  readonly type: string;
  /**
   * Checks a target definition sent to the API (without its `type`): the settings to store and
   * a secret to keep apart, or the problems found (fields relative to `target`).
   */
  parse(raw: Record<string, unknown>): Promise<ParsedTarget | FieldError[]>;
  /** Runs one step. A failing step resolves with ok: false; `signal` aborts it early (shutdown, lost lease). */
  execute(target: StoredTarget, request: DeployStepRequest, signal: AbortSignal): Promise<StepOutcome>;
}

/** Injection token: every DeployTarget the platform knows. */
export const DEPLOY_TARGETS = Symbol('DEPLOY_TARGETS');
